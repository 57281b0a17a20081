"""Faults: the database restarting or hanging, and an app process killed, under traffic.

Real run.py processes against a private MariaDB server of this module's own (so
that stopping, restarting or freezing it disturbs no other test), real clients
that keep sending and listening through the fault, and a final count: every
acknowledged message reached the listener exactly once, in seq order. Redis
going away is in tests/test_scaleout.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest
from tornado.httpclient import AsyncHTTPClient

from tornado_chat.config import DatabaseTimeouts, DatabaseURL, Settings
from tornado_chat.dbserver import DBServerError, EmbeddedMariaDB

from .support.database import connect, query
from .support.http import Client, Response
from .support.processes import ChatProcess
from .support.servers import StartServer
from .support.traffic import (
    Listener,
    Sender,
    assert_each_acknowledged_message_arrived_once_in_seq_order,
    chatting,
    server_errors,
    until,
    wind_down,
)
from .test_setup import run_py

# Promises about time (a prompt 503, back within 5 s) hold on a machine the test has to itself:
# these run alone, after the parallel part of `make test`.
pytestmark = pytest.mark.serial

Event = dict[str, Any]
# The database timeouts the hang test runs with (seconds), lower than the defaults.
CONNECT, ACQUIRE, STATEMENT = 1.0, 2.0, 2.0
SHORT_TIMEOUTS = ("--db-connect-timeout", f"{CONNECT}", "--db-acquire-timeout", f"{ACQUIRE}",
                  "--db-statement-timeout", f"{STATEMENT}")
# A request must fail within the timeouts it meets (acquire, then statement); the margin is for
# a loaded machine, not part of the rule. A hang would run into the client's 30 s.
HANG_ANSWER_BOUND = ACQUIRE + STATEMENT + 8.0
PRESENCE_SWEEP = Settings.presence_sweep_interval


@pytest.fixture(scope="module")
def own_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedMariaDB]:
    """A MariaDB server for this module alone, which its tests stop, start and freeze."""
    server = EmbeddedMariaDB(tmp_path_factory.mktemp("faultdb"))
    server.start()
    yield server
    with contextlib.suppress(ProcessLookupError, DBServerError):
        os.kill(server.pid, signal.SIGCONT)  # in case a test stopped short of continuing it
    server.stop()


@pytest.fixture
def own_url(own_database: EmbeddedMariaDB) -> DatabaseURL:
    return DatabaseURL.parse(own_database.url("tc_faults"))


@pytest.fixture
async def http() -> AsyncIterator[AsyncHTTPClient]:
    client = AsyncHTTPClient(force_instance=True, max_clients=200)
    yield client
    client.close()


async def test_a_database_restart_under_traffic_costs_only_503s_and_recovers_by_itself_losing_nothing(
    own_database: EmbeddedMariaDB, own_url: DatabaseURL, chat_processes: Callable[..., ChatProcess],
    http: AsyncHTTPClient, record_property: Callable[[str, object], None],
) -> None:
    chat = chat_processes("--database-url", own_url.url())
    client = Client(chat.base_url, http)
    ana, bob, group_id, cursor = await chatting(client)
    sender = Sender(client, ana, group_id)
    listener = Listener(client, bob, cursor, group_id)
    stop_listening = asyncio.Event()
    tasks = [asyncio.create_task(sender.run()), asyncio.create_task(listener.run(stop_listening))]
    await until(lambda: len(sender.acknowledged) >= 5)

    await asyncio.to_thread(own_database.stop)
    await until(lambda: len(sender.refusals) >= 3)
    health = await client.request("GET", "/healthz")
    restarting = time.monotonic()
    await asyncio.to_thread(own_database.start)  # returns once the server accepts a login
    back = time.monotonic()
    await until(lambda: sender.acknowledged_at[-1] > restarting)
    # The sender retries every 0.1 s, and may get through while start() is still checking.
    recovery = max(0.0, min(t for t in sender.acknowledged_at if t > restarting) - back)
    record_property("database_restart_recovery_seconds", round(recovery, 3))
    print(f"\ndatabase start took {back - restarting:.2f} s; first acknowledged send {recovery:.2f} s after it")
    acknowledged = len(sender.acknowledged)
    await until(lambda: len(sender.acknowledged) >= acknowledged + 5)

    await wind_down(sender, listener, tasks, stop_listening)

    assert health.status == 503 and health.json == {"status": "unavailable"}
    assert {(r.status, r.error_code) for r in sender.refusals} == {(503, "unavailable")}
    assert all(r.headers.get("Retry-After") for r in sender.refusals)
    assert sender.unanswered == 0
    assert recovery < 5.0  # the bound; nothing was restarted but the database
    assert set(listener.statuses) == {200}  # polls waiting through the outage ended normally
    assert_each_acknowledged_message_arrived_once_in_seq_order(sender.acknowledged, listener, own_url)
    assert server_errors(chat) == []


async def timed(request: Awaitable[Response]) -> tuple[Response, float]:
    started = time.monotonic()
    answer = await request
    return answer, time.monotonic() - started


async def test_a_hung_database_gets_every_request_a_prompt_503_and_all_is_well_once_it_continues(
    own_database: EmbeddedMariaDB, own_url: DatabaseURL, chat_processes: Callable[..., ChatProcess],
    http: AsyncHTTPClient,
) -> None:
    chat = chat_processes("--database-url", own_url.url(), *SHORT_TIMEOUTS)
    client = Client(chat.base_url, http)
    ana, bob, group_id, cursor = await chatting(client)
    before = await client.send(ana, group_id, "before the hang", "before")
    browser = Client(chat.base_url, http, cookies={})  # a signed-in browser, for the chat page
    await browser.request("POST", "/api/session", {"username": ana.username, "password": ana.password})
    listener = Listener(client, bob, cursor, group_id)
    await listener.poll_once()
    waiting = asyncio.create_task(client.poll(bob, listener.cursor, timeout=4))
    await asyncio.sleep(0.3)

    path = f"/api/groups/{group_id}/messages"
    os.kill(own_database.pid, signal.SIGSTOP)
    hung = time.monotonic()
    try:
        burst = await asyncio.gather(
            *(timed(client.send(ana, group_id, f"in the hang {i}", f"hang-{i}")) for i in range(25)),
            *(timed(client.request("GET", path, token=ana.token)) for _ in range(10)),
            *(timed(client.request("GET", "/api/groups", token=bob.token)) for _ in range(5)),
            *(timed(client.request("GET", "/api/me", token=bob.token)) for _ in range(5)),
        )
        health, health_took = await timed(client.request("GET", "/healthz"))
        page = await browser.request("GET", "/")
        # Hung past a presence sweep and its writes' timeouts: background work meets the outage too.
        await asyncio.sleep(max(0.0, hung + PRESENCE_SWEEP + 2 * STATEMENT + 0.5 - time.monotonic()))
    finally:
        os.kill(own_database.pid, signal.SIGCONT)

    assert [(r.status, r.error_code) for r, _ in burst] == [(503, "unavailable")] * len(burst)
    assert all(r.headers.get("Retry-After") for r, _ in burst)
    slowest = max(took for _, took in burst)
    print(f"\nslowest of {len(burst)} requests to a hung database: {slowest:.2f} s "
          f"(acquire {ACQUIRE:g} s, statement {STATEMENT:g} s)")
    assert slowest < HANG_ANSWER_BOUND
    assert health.status == 503 and health_took < HANG_ANSWER_BOUND
    assert (await waiting).status == 200
    assert page.status == 503 and page.headers["Content-Type"].startswith("text/html") and page.headers["Retry-After"]

    reads = await asyncio.gather(*(client.request("GET", path, token=ana.token) for _ in range(30)))
    assert [r.status for r in reads] == [200] * 30  # more than the pool holds: no connection was left broken
    again = [await client.send(ana, group_id, f"in the hang {i}", f"hang-{i}") for i in range(25)]
    assert [r.status for r in again] == [201] * 25  # not 200: none of the refused sends was stored
    acknowledged = {r.json["message"]["client_id"]: r.json["message"] for r in [before, *again]}
    await listener.until_received(again[-1].json["message"]["id"])
    assert (await client.request("GET", "/healthz")).status == 200
    assert_each_acknowledged_message_arrived_once_in_seq_order(acknowledged, listener, own_url)
    assert server_errors(chat) == []  # neither the requests nor the background work
    log = chat.log_path.read_text()
    assert log.count("the database is unavailable") == 1 and log.count("the database answers again") == 1


async def test_a_statement_past_its_deadline_is_stopped_by_the_server_too(
    start_server: StartServer, database: DatabaseURL
) -> None:
    server = await start_server(db_timeouts=DatabaseTimeouts(statement=1))
    client = server.client()
    ana = await client.register()
    group = await client.create_group(ana)
    holder = connect(database)  # holds the group's row lock, so a send waits for it
    try:
        with holder.cursor() as cur:
            cur.execute("BEGIN")
            cur.execute("SELECT id FROM chat_groups WHERE id = %s FOR UPDATE", (group["id"],))
            holder_id = holder.thread_id()
        r = await client.send(ana, group["id"], "behind a lock")
        assert (r.status, r.error_code) == (503, "unavailable")

        def waiting_for_the_lock() -> bool:  # the send's statement, still on the server?
            return bool(query(
                database,
                "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = %s AND INFO LIKE %s "
                "AND ID NOT IN (CONNECTION_ID(), %s)",
                (database.database, "%chat_groups g%FOR UPDATE%", holder_id),
            ))

        # The lock is still held (InnoDB would let the statement wait 50 s): only the server's
        # own limit ends it.
        await until(lambda: not waiting_for_the_lock(), limit=20.0)
    finally:
        holder.rollback()
        holder.close()
    assert (await client.send(ana, group["id"], "after the lock")).status == 201


async def test_an_app_process_killed_mid_traffic_loses_and_repeats_nothing_acknowledged(
    database: DatabaseURL, chat_processes: Callable[..., ChatProcess], http: AsyncHTTPClient
) -> None:
    first = chat_processes()
    client = Client(first.base_url, http)
    ana, bob, group_id, cursor = await chatting(client)
    sender = Sender(client, ana, group_id, senders=3)
    listener = Listener(client, bob, cursor, group_id)
    stop_listening = asyncio.Event()
    tasks = [asyncio.create_task(sender.run()), asyncio.create_task(listener.run(stop_listening))]
    await until(lambda: len(sender.acknowledged) >= 15)

    first.process.kill()
    first.process.wait()
    second = await asyncio.to_thread(chat_processes)
    client.base_url = second.base_url  # the load balancer now sends everyone to the new process
    acknowledged = len(sender.acknowledged)
    await until(lambda: len(sender.acknowledged) >= acknowledged + 15)

    await wind_down(sender, listener, tasks, stop_listening)

    print(f"\n{sender.unanswered} sends and {listener.failures} polls without an answer (the kill, then the restart); "
          f"{sender.retries_found_stored} retries found their message stored")
    assert sender.unanswered >= 1 and listener.failures >= 1  # both carried on through the kill
    assert {(r.status, r.error_code) for r in sender.refusals} <= {(503, "unavailable")}
    assert_each_acknowledged_message_arrived_once_in_seq_order(sender.acknowledged, listener, database)
    assert server_errors(second) == []


def test_run_py_help_lists_the_database_timeouts_and_their_environment_variables() -> None:
    result = run_py("--help")
    for name in ("connect", "acquire", "statement"):
        assert f"--db-{name}-timeout" in result.stdout and f"CHAT_DB_{name.upper()}_TIMEOUT" in result.stdout


@pytest.mark.parametrize(
    ("args", "env", "says"),
    [
        (["--db-statement-timeout", "0"], {}, "--db-statement-timeout must be a number of seconds above 0"),
        (["--db-acquire-timeout", "nan"], {}, "--db-acquire-timeout must be a number of seconds above 0"),
        (["--db-connect-timeout", "soon"], {}, "argument --db-connect-timeout: invalid float value: 'soon'"),
        ([], {"CHAT_DB_STATEMENT_TIMEOUT": "-1"}, "--db-statement-timeout must be a number of seconds above 0"),
    ],
)
def test_database_timeouts_that_make_no_sense_are_refused_with_one_clear_line(
    args: list[str], env: dict[str, str], says: str
) -> None:
    result = run_py(*args, env={**os.environ, **env})
    assert result.returncode == 2
    assert says in result.stderr
    assert "Traceback" not in result.stderr


def test_run_py_started_against_a_hung_database_says_it_cannot_reach_it_in_one_line(
    own_database: EmbeddedMariaDB, own_url: DatabaseURL
) -> None:
    os.kill(own_database.pid, signal.SIGSTOP)
    try:
        result = run_py("--database-url", own_url.url(), "--db-connect-timeout", "1", "--port", "0")
    finally:
        os.kill(own_database.pid, signal.SIGCONT)
    assert result.returncode == 2
    assert "cannot reach the database: the database did not answer within 1 s" in result.stderr
    assert "Traceback" not in result.stderr
