"""Many processes sharing MySQL and Redis: real run.py processes and a real redis-server."""

from __future__ import annotations

import asyncio
import itertools
import re
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import AsyncHTTPClient

from tornado_chat.config import PROJECT_ROOT

from .support.http import PASSWORD, Account, Client, unique
from .support.processes import ChatProcess, RedisServer
from .test_changes import changed, latest_by_id, react, without_reply
from .test_events import collect, messages, of_type

Event = dict[str, Any]


@pytest.fixture
async def http() -> AsyncIterator[AsyncHTTPClient]:
    client = AsyncHTTPClient(force_instance=True, max_clients=200)
    yield client
    client.close()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test's own, which it may stop and start again."""
    server = RedisServer(str(tmp_path))
    server.start()
    yield server
    server.stop()


async def metric(client: Client, name: str) -> float:
    text = (await client.request("GET", "/metrics")).body.decode()
    found = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
    assert found, f"{name} is not in /metrics"
    return float(found.group(1))


async def until(check: Callable[[], Any], limit: float = 20.0) -> None:
    """Wait until an async check is true (a condition, not a timing)."""
    for _ in range(int(limit / 0.1)):
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the condition never came true")


async def group_of(client: Client, count: int) -> tuple[list[Account], dict[str, Any]]:
    accounts = [await client.register() for _ in range(count)]
    group = await client.create_group(accounts[0])
    for account in accounts[1:]:
        await client.join(account, group["id"])
    return accounts, group


async def test_a_poll_on_one_process_is_woken_by_a_send_to_another(
    chat_processes: Callable[..., ChatProcess], redis_url: str, http: AsyncHTTPClient
) -> None:
    one, two = (Client(chat_processes("--redis-url", redis_url).base_url, http) for _ in range(2))
    (ana, bob), group = await group_of(one, 2)
    cursor = await two.cursor(bob)
    heard_before = await metric(two, "chat_redis_changes_received")
    waiting = asyncio.create_task(collect(two, bob, cursor, lambda ev: bool(messages(ev))))
    await asyncio.sleep(0.2)
    sent = await one.send(ana, group["id"], "across processes")
    events, _ = await waiting
    assert messages(events) == [sent.json["message"]]
    assert await metric(two, "chat_redis_changes_received") > heard_before  # woken by Redis, not by a resync


async def test_senders_on_three_processes_reach_round_robin_listeners_exactly_once_in_order(
    chat_processes: Callable[..., ChatProcess], redis_url: str, http: AsyncHTTPClient
) -> None:
    clients = [Client(chat_processes("--redis-url", redis_url).base_url, http) for _ in range(3)]
    accounts, group = await group_of(clients[0], 6)
    senders, listeners = accounts[:3], accounts[3:]
    per_sender, total = 10, 30

    async def listen(listener: Account) -> list[Event]:
        rotation = itertools.cycle(clients)
        cursor = await next(rotation).cursor(listener)
        received: list[Event] = []
        for _ in range(200):
            if len(received) >= total:
                break
            answer = await next(rotation).poll(listener, cursor, timeout=5)
            received += messages(answer.json["events"])
            cursor = answer.json["cursor"]
        return received

    async def send_all(client: Client, sender: Account) -> None:
        for i in range(per_sender):
            assert (await client.send(sender, group["id"], f"{sender.username} {i}")).status == 201

    listening = [asyncio.create_task(listen(listener)) for listener in listeners]
    await asyncio.sleep(0.3)
    await asyncio.gather(*(send_all(c, s) for c, s in zip(clients, senders, strict=True)))
    for task in listening:
        received = await task
        assert [m["seq"] for m in received] == list(range(1, total + 1))
        assert len({m["id"] for m in received}) == total


async def test_a_poll_that_moves_between_processes_still_waits_for_news(
    chat_processes: Callable[..., ChatProcess], redis_url: str, http: AsyncHTTPClient
) -> None:
    clients = [Client(chat_processes("--redis-url", redis_url).base_url, http) for _ in range(2)]
    (ana, bob), group = await group_of(clients[0], 2)
    _, cursor = await collect(clients[0], bob, await clients[0].cursor(bob), lambda ev: False, limit=0.5)
    for client in clients * 2:  # round robin, nothing new: every poll waits its full second
        started = time.monotonic()
        answer = await client.poll(bob, cursor, timeout=1)
        assert answer.json["events"] == [] and time.monotonic() - started >= 0.9
        cursor = answer.json["cursor"]
    waiting = asyncio.create_task(collect(clients[1], bob, cursor, lambda ev: bool(messages(ev))))
    await asyncio.sleep(0.2)
    await clients[0].send(ana, group["id"], "news")
    events, _ = await waiting
    assert [m["text"] for m in messages(events)] == ["news"]


async def test_presence_and_typing_cross_processes(
    chat_processes: Callable[..., ChatProcess], redis_url: str, http: AsyncHTTPClient
) -> None:
    one, two = (Client(chat_processes("--redis-url", redis_url).base_url, http) for _ in range(2))
    (ana, bob), group = await group_of(one, 2)
    cursor = await two.cursor(bob)

    def ana_came(events: list[Event]) -> bool:
        return any(ana.user in e.get("came", []) for e in of_type(events, "presence", group["id"]))

    waiting = asyncio.create_task(collect(two, bob, cursor, ana_came))
    await asyncio.sleep(0.2)
    await one.cursor(ana)  # ana comes online on the first process
    events, cursor = await waiting
    assert ana_came(events)
    waiting = asyncio.create_task(collect(two, bob, cursor, lambda ev: bool(of_type(ev, "typing"))))
    await asyncio.sleep(0.2)
    assert (await one.request("POST", f"/api/groups/{group['id']}/typing", token=ana.token)).status == 204
    events, _ = await waiting
    assert of_type(events, "typing") == [{"type": "typing", "group_id": group["id"], "user": ana.user}]
    online = await two.request("GET", f"/api/groups/{group['id']}/online", token=bob.token)
    assert ana.user in online.json["users"]


async def test_delivery_goes_on_without_redis_and_is_prompt_again_when_it_is_back(
    chat_processes: Callable[..., ChatProcess], own_redis: RedisServer, http: AsyncHTTPClient
) -> None:
    one, two = (Client(chat_processes("--redis-url", own_redis.url).base_url, http) for _ in range(2))
    (ana, bob), group = await group_of(one, 2)
    cursor = await two.cursor(bob)
    texts: list[str] = []

    async def send_and_receive(text: str) -> list[Event]:
        nonlocal cursor
        waiting = asyncio.create_task(collect(two, bob, cursor, lambda ev: bool(messages(ev)), limit=30))
        await asyncio.sleep(0.2)
        assert (await one.send(ana, group["id"], text)).status == 201
        texts.append(text)
        events, cursor = await waiting
        return messages(events)

    assert [m["text"] for m in await send_and_receive("before the outage")] == ["before the outage"]
    own_redis.stop()
    await until(lambda: metric_is(two, "chat_redis_connected", 0.0))
    assert [m["text"] for m in await send_and_receive("during the outage")] == ["during the outage"]
    own_redis.start()
    for client in (one, two):
        await until(lambda c=client: metric_is(c, "chat_redis_connected", 1.0))
    heard_before = await metric(two, "chat_redis_changes_received")
    assert [m["text"] for m in await send_and_receive("after the outage")] == ["after the outage"]
    assert await metric(two, "chat_redis_changes_received") > heard_before
    history = await two.request("GET", f"/api/groups/{group['id']}/messages", token=bob.token)
    assert [m["text"] for m in history.json["messages"]] == texts


async def metric_is(client: Client, name: str, value: float) -> bool:
    return await metric(client, name) == value


async def test_a_sign_out_on_one_process_is_refused_on_the_other_at_once(
    chat_processes: Callable[..., ChatProcess], redis_url: str, http: AsyncHTTPClient
) -> None:
    one, two = (Client(chat_processes("--redis-url", redis_url).base_url, http) for _ in range(2))
    ana = await one.register()
    cursor = await two.cursor(ana)
    assert (await two.poll(ana, cursor, timeout=0)).status == 200  # process two now has the session cached
    assert (await two.request("GET", "/api/me", token=ana.token)).status == 200
    assert (await one.request("DELETE", "/api/session", token=ana.token)).status == 204
    assert (await two.request("GET", "/api/me", token=ana.token)).status == 401
    await until(lambda: poll_refused(two, ana, cursor))


async def poll_refused(client: Client, account: Account, cursor: str) -> bool:
    return (await client.poll(account, cursor, timeout=0)).status == 401


async def test_joining_on_one_process_wakes_a_poll_on_another(
    chat_processes: Callable[..., ChatProcess], redis_url: str, http: AsyncHTTPClient
) -> None:
    one, two = (Client(chat_processes("--redis-url", redis_url).base_url, http) for _ in range(2))
    ana, bob = await one.register(), await one.register()
    group = await one.create_group(ana)
    cursor = await two.cursor(bob)
    cursor = (await two.poll(bob, cursor, timeout=0)).json["cursor"]  # process two now has bob's memberships
    waiting = asyncio.create_task(collect(two, bob, cursor, lambda ev: bool(of_type(ev, "membership"))))
    await asyncio.sleep(0.2)
    await one.join(bob, group["id"])
    events, cursor = await waiting
    assert [(e["group_id"], e["joined"]) for e in of_type(events, "membership")] == [(group["id"], True)]
    await one.send(ana, group["id"], "welcome")
    events, _ = await collect(two, bob, cursor, lambda ev: bool(messages(ev)))
    assert [m["text"] for m in messages(events)] == ["welcome"]


async def test_login_throttling_counts_attempts_made_on_every_process(
    chat_processes: Callable[..., ChatProcess], redis_url: str, http: AsyncHTTPClient
) -> None:
    one, two = (Client(chat_processes("--redis-url", redis_url).base_url, http) for _ in range(2))
    ana = await one.register()
    wrong = {"username": ana.username, "password": "wrong password"}
    for client in itertools.islice(itertools.cycle((one, two)), 6):  # five allowed, the sixth starts a pause
        assert (await client.request("POST", "/api/session", wrong)).status == 401
    for client in (one, two):
        r = await client.request("POST", "/api/session", {"username": ana.username, "password": PASSWORD})
        assert (r.status, r.error_code) == (429, "too_many_attempts")


def test_more_than_one_process_needs_redis() -> None:
    result = subprocess.run(
        [sys.executable, "run.py", "--processes", "2", "--database-url", "mysql://root@127.0.0.1/x"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 2
    assert "--processes above 1 needs --redis-url" in result.stderr


async def test_processes_forks_workers_on_one_shared_port_and_stops_them_all(
    chat_processes: Callable[..., ChatProcess], redis_url: str, http: AsyncHTTPClient
) -> None:
    chat = chat_processes("--redis-url", redis_url, "--processes", "2")
    client = Client(chat.base_url, http)
    workers = [p for p in Path("/proc").glob("[0-9]*/stat") if f" {chat.process.pid} " in _stat(p)]
    assert len(workers) == 2
    (ana, bob), group = await group_of(client, 2)
    cursor = await client.cursor(bob)
    waiting = asyncio.create_task(collect(client, bob, cursor, lambda ev: bool(messages(ev))))
    await asyncio.sleep(0.2)
    await client.send(ana, group["id"], unique("via a worker"))
    events, _ = await waiting
    assert len(messages(events)) == 1
    chat.process.send_signal(signal.SIGTERM)
    assert chat.process.wait(timeout=30) == 0
    assert all(not p.exists() for p in workers)


def _stat(path: Path) -> str:
    try:
        return path.read_text().rsplit(")", 1)[1]
    except (OSError, IndexError):
        return ""


async def test_changes_on_two_processes_reach_listeners_on_both_exactly_once_through_a_redis_outage(
    chat_processes: Callable[..., ChatProcess], own_redis: RedisServer, http: AsyncHTTPClient
) -> None:
    one, two = (Client(chat_processes("--redis-url", own_redis.url).base_url, http) for _ in range(2))
    (ana, bob, carol, dave), group = await group_of(one, 4)
    texts = [(await one.send(ana, group["id"], f"m{i}")).json["message"] for i in range(3)]
    total = 3 * len(texts) * 2  # three rounds, each message reacted to on each process
    listening = [
        asyncio.create_task(collect(client, listener, await client.cursor(listener),
                                    lambda ev: len(changed(ev)) >= total, limit=60))
        for client, listener in ((one, carol), (two, dave))
    ]

    async def changes(emoji: str) -> None:
        for message in texts:
            assert (await react(one, ana, group["id"], message["seq"], emoji)).status == 200
            assert (await react(two, bob, group["id"], message["seq"], emoji)).status == 200

    await asyncio.sleep(0.2)
    await changes("👍")
    own_redis.stop()
    await until(lambda: metric_is(two, "chat_redis_connected", 0.0))
    await changes("🎉")
    own_redis.start()
    for client in (one, two):
        await until(lambda c=client: metric_is(c, "chat_redis_connected", 1.0))
    await changes("👀")
    history = await one.request("GET", f"/api/groups/{group['id']}/messages", token=ana.token)
    final = {m["id"]: m for m in history.json["messages"]}
    assert sum(m["version"] - 1 for m in final.values()) == total
    for task in listening:
        events, _ = await task
        versions = [(m["id"], m["version"]) for m in changed(events)]
        assert len(versions) == len(set(versions)) == total
        assert without_reply(latest_by_id(events, {m["id"]: m for m in texts})) == without_reply(final)
