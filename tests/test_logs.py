"""Logs: JSON lines on request, a request id on every answer and in its records, and no secrets."""

from __future__ import annotations

import json
import re
import signal
from collections.abc import Callable
from typing import Any

from tornado.httpclient import AsyncHTTPClient

from .support.http import Client, unique
from .support.processes import ChatProcess

SECRET_PASSWORD = "hunter2-" + "s3cret-" * 3


def json_lines(chat: ChatProcess) -> list[dict[str, Any]]:
    """Every line the stopped process wrote, each of which must be one JSON object."""
    chat.process.send_signal(signal.SIGTERM)
    assert chat.process.wait(timeout=20) == 0
    lines = [line for line in chat.log_path.read_text().splitlines() if line.strip()]
    assert lines
    records = [json.loads(line) for line in lines]
    assert all(isinstance(r, dict) and {"time", "level", "logger", "message"} <= r.keys() for r in records)
    return records


async def test_json_logs_are_one_object_per_line_and_hold_no_password_token_or_cookie(
    chat_processes: Callable[..., ChatProcess],
) -> None:
    chat = chat_processes("--log-format", "json")
    http = AsyncHTTPClient(force_instance=True)
    browser = Client(chat.base_url, http, cookies={})
    username = unique("ana")
    r = await browser.request("POST", "/api/users", {"username": username, "password": SECRET_PASSWORD})
    assert r.status == 201
    xsrf = {"X-XSRFToken": browser.cookies["_xsrf"]}
    await browser.request("DELETE", "/api/session", headers=xsrf)
    r = await browser.request("POST", "/api/session", {"username": username, "password": SECRET_PASSWORD}, headers=xsrf)
    assert r.status == 200
    token = r.json["token"]
    session_cookie = browser.cookies["chat_session"]
    xsrf = {"X-XSRFToken": browser.cookies["_xsrf"]}
    r = await browser.request("POST", "/api/groups", {"name": unique("g")}, headers=xsrf)
    group_id = r.json["group"]["id"]
    r = await browser.request("POST", f"/api/groups/{group_id}/messages", {"text": "hi"}, headers=xsrf)
    assert r.status == 201
    r = await browser.request("POST", f"/api/groups/{group_id}/messages", {"text": "hi"}, token=token)
    assert r.status == 201
    wrong = await Client(chat.base_url, http).request(
        "POST", "/api/session", {"username": username, "password": SECRET_PASSWORD + "x"}
    )
    assert wrong.status == 401
    forged = "forged-" + "c" * 20 + "|1700000000|" + "0" * 40  # a v1 signed value: Tornado warns, quoting it
    r = await Client(chat.base_url, http).request("GET", "/api/me", headers={"Cookie": f"chat_session={forged}"})
    assert r.status == 401
    http.close()

    records = json_lines(chat)
    text = chat.log_path.read_text()
    for secret in (SECRET_PASSWORD, token, session_cookie, forged):
        assert secret not in text
    assert any(r.get("logger") == "tornado.general" and "cookie" in r["message"] for r in records)


async def test_a_request_id_is_echoed_and_tags_its_access_line_and_its_warning(
    chat_processes: Callable[..., ChatProcess],
) -> None:
    chat = chat_processes("--log-format", "json")
    http = AsyncHTTPClient(force_instance=True)
    client = Client(chat.base_url, http)
    mine = "trace-" + unique("id")
    r = await client.request("POST", "/api/groups", {"name": "x"}, headers={"X-Request-Id": mine})
    assert (r.status, r.headers["X-Request-Id"]) == (401, mine)
    unsafe = await client.request("GET", "/healthz", headers={"X-Request-Id": "a b <c>"})
    fresh = unsafe.headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{12}-[0-9a-f]+", fresh)
    again = (await client.request("GET", "/healthz")).headers["X-Request-Id"]
    assert again != fresh
    http.close()

    records = json_lines(chat)
    tagged = [r for r in records if r.get("request_id") == mine]
    access = [r for r in tagged if r["logger"] == "tornado.access"]
    assert len(access) == 1
    assert access[0] | {"duration_ms": 0} == access[0] | {
        "status": 401, "method": "POST", "path": "/api/groups", "handler": "GroupsHandler", "duration_ms": 0,
        "level": "WARNING", "remote_ip": "127.0.0.1",
    }
    assert any(r["logger"] == "tornado.general" and "not_authenticated" in r["message"] for r in tagged)
    assert [r["path"] for r in records if r.get("request_id") == fresh] == ["/healthz"]


async def test_text_logs_stay_the_default(chat_processes: Callable[..., ChatProcess]) -> None:
    chat = chat_processes()
    http = AsyncHTTPClient(force_instance=True)
    await Client(chat.base_url, http).request("GET", "/healthz")
    http.close()
    chat.process.send_signal(signal.SIGTERM)
    assert chat.process.wait(timeout=20) == 0
    assert re.search(r"\] 200 GET /healthz \(127\.0\.0\.1\) [0-9.]+ms$", chat.log_path.read_text(), re.M)


async def access_lines_of_polls(chat: ChatProcess) -> tuple[list[dict[str, Any]], int]:
    """A cursorless poll, a poll answered at its timeout and one refused for its cursor; then the
    access lines the stopped process wrote about /api/events, and the status of the refused one."""
    http = AsyncHTTPClient(force_instance=True)
    client = Client(chat.base_url, http)
    account = await client.register("poller")
    r = await client.request("GET", "/api/events", token=account.token)
    assert r.status == 200
    answered = await client.request("GET", f"/api/events?cursor={r.json['cursor']}&timeout=0", token=account.token)
    assert answered.status == 200
    refused = await client.request("GET", "/api/events?cursor=nonsense", token=account.token)
    http.close()
    records = json_lines(chat)
    access = [r for r in records if r["logger"] == "tornado.access" and r["path"].startswith("/api/events")]
    assert any(r["logger"] == "tornado.access" and r["path"] == "/api/users" for r in records)
    return access, refused.status


async def test_answered_long_polls_stay_out_of_the_default_access_log_but_refused_ones_are_in_it(
    chat_processes: Callable[..., ChatProcess],
) -> None:
    access, refused = await access_lines_of_polls(chat_processes("--log-format", "json"))
    assert refused == 400
    assert [(r["status"], r["level"]) for r in access] == [(400, "WARNING")]


async def test_a_full_access_log_has_every_answered_long_poll(chat_processes: Callable[..., ChatProcess]) -> None:
    access, _ = await access_lines_of_polls(chat_processes("--log-format", "json", "--access-log", "full"))
    assert [(r["status"], r["level"]) for r in access] == [(200, "INFO"), (200, "INFO"), (400, "WARNING")]
