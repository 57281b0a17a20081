"""Operations: /healthz, /metrics, unknown routes, and a database that goes away."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from pathlib import Path

from tornado.httpclient import AsyncHTTPClient

from tornado_chat.config import DatabaseURL
from tornado_chat.dbserver import EmbeddedMariaDB

from .support.http import Client, unique
from .support.processes import ChatProcess
from .support.servers import StartServer


async def test_healthz_says_ok_when_the_database_answers(client: Client) -> None:
    r = await client.request("GET", "/healthz")
    assert (r.status, r.json) == (200, {"status": "ok"})


async def test_without_the_database_healthz_says_503_and_sends_get_503_not_500(
    start_server: StartServer, tmp_path: Path
) -> None:
    database = EmbeddedMariaDB(tmp_path / "doomed")
    database.start()
    try:
        server = await start_server(database=DatabaseURL.parse(database.url("doomed")))
        client = server.client()
        ana = await client.register()
        group = await client.create_group(ana)
    finally:
        database.stop()
    assert (await client.request("GET", "/healthz")).status == 503
    r = await client.send(ana, group["id"], "into the void")
    assert (r.status, r.error_code) == (503, "unavailable")


async def test_unknown_routes_get_a_404_with_an_error_code(client: Client) -> None:
    for path in ("/api/nothing", "/api/groups/1/nothing", "/nothing"):
        r = await client.request("GET", path)
        assert (r.status, r.error_code) == (404, "not_found")


async def test_unsupported_methods_get_405_with_an_error_code(client: Client) -> None:
    r = await client.request("PATCH", "/api/groups", {})
    assert (r.status, r.error_code) == (405, "method_not_allowed")


async def test_errors_are_json_with_a_code_and_a_message(client: Client) -> None:
    r = await client.request("POST", "/api/groups", {"name": unique("g")})
    assert r.headers["Content-Type"].startswith("application/json")
    assert set(r.json["error"]) == {"code", "message"}


async def test_a_server_told_to_stop_answers_its_waiting_polls_instead_of_failing_them(
    chat_processes: Callable[..., ChatProcess],
) -> None:
    chat = chat_processes()
    http = AsyncHTTPClient(force_instance=True)
    client = Client(chat.base_url, http)
    ana = await client.register()
    await client.create_group(ana)
    cursor = await client.cursor(ana)
    await asyncio.sleep(0.3)  # ana's own arrival is announced; then nothing happens
    cursor = (await client.poll(ana, cursor, timeout=0)).json["cursor"]
    waiting = asyncio.create_task(client.poll(ana, cursor, timeout=30))
    await asyncio.sleep(0.5)
    chat.process.send_signal(signal.SIGTERM)
    answer = await waiting
    assert answer.status == 200
    assert answer.json == {"cursor": cursor, "events": []}
    assert chat.process.wait(timeout=20) == 0
    http.close()


async def test_json_answers_are_not_stored_by_caches_and_carry_no_etag(client: Client) -> None:
    ana = await client.register()
    r = await client.request("GET", "/api/groups", token=ana.token)
    assert r.status == 200
    assert r.headers["Cache-Control"] == "no-store"
    assert "ETag" not in r.headers
