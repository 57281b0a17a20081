"""Client storms and slow clients, against a real run.py: a thousand clients reconnecting at once,
clients that never read their answers, clients that leave mid-poll. After each, the server holds
no poll, no connection and no memory for them any more."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import AsyncHTTPClient

from tornado_chat.auth import PasswordHasher, new_token, token_hash
from tornado_chat.config import DatabaseTimeouts, DatabaseURL
from tornado_chat.store import Store

from .support.http import Account, Client, unique
from .support.processes import ChatProcess
from .test_images import encode, noise, upload
from .test_metrics import scrape, until_metric, value

# A thousand clients at once measure the server, not a test beside it: these run alone,
# after the parallel part of `make test`.
pytestmark = pytest.mark.serial

MEMORY_SLACK = 20 * 2**20  # bytes of VmRSS over the baseline allowed once the clients have gone
POOL_SIZE = 20  # the crowd is made with many statements at once
SETTLE = 200  # looks, 50 ms apart, for the server to let go of what the clients held


@dataclass
class Crowd:
    accounts: list[Account]
    group_ids: list[int]


async def crowd(database: DatabaseURL, size: int, group_size: int = 100) -> Crowd:
    """``size`` users with sessions, in groups of ``group_size``, made through the storage layer
    (registering a thousand over HTTP would be the slow part of the test, and is tested elsewhere)."""
    store = await Store.open(database, POOL_SIZE, DatabaseTimeouts())
    try:
        password_hash = await PasswordHasher(4).hash("never used")
        tag = unique("s")[-10:]

        async def member(i: int) -> Account:
            user = await store.accounts.create_user(f"storm{tag}{i}", password_hash)
            token = new_token()
            await store.accounts.create_session(user.id, token_hash(token))
            return Account(user.id, user.username, "never used", token)

        accounts = await asyncio.gather(*(member(i) for i in range(size)))
        group_ids = []
        for start in range(0, size, group_size):
            name = f"storm {tag} {start}"
            group_id = await store.groups.create(name, name, accounts[start].id)
            await asyncio.gather(*(store.groups.join(group_id, a.id) for a in accounts[start + 1 : start + group_size]))
            group_ids.append(group_id)
        return Crowd(list(accounts), group_ids)
    finally:
        await store.db.close()


class Raw:
    """One client on a plain socket: requests written by hand, answers read only when asked."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Raw:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    def send(self, path: str, token: str) -> None:
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: chat\r\nAuthorization: Bearer {token}\r\n\r\n".encode())

    async def answer(self) -> tuple[int, Any]:
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        lines = head.split("\r\n")
        length = next(int(v) for k, _, v in (h.partition(":") for h in lines[1:]) if k.lower() == "content-length")
        return int(lines[0].split()[1]), json.loads(await self.reader.readexactly(length))

    def close(self) -> None:
        self.writer.close()


@dataclass
class Watched:
    """The server process as the operating system sees it."""

    chat: ChatProcess
    client: Client

    def rss(self) -> int:
        for line in Path(f"/proc/{self.chat.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS")

    async def fds_but_pool(self) -> int:
        """Open files, less the database pool's connections (it grows under load and keeps them)."""
        pool = value(await scrape(self.client), "chat_db_pool_size")
        return len(os.listdir(f"/proc/{self.chat.process.pid}/fd")) - int(pool)

    async def back_to(self, fds: int) -> None:
        """Until no poll is open and no more files than ``fds`` are, however long the server takes to see it."""
        await until_metric(self.client, "chat_open_polls", 0)
        for _ in range(SETTLE):
            if await self.fds_but_pool() <= fds:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"{await self.fds_but_pool()} files open, {fds} before the clients came")


@pytest.fixture
async def watched(chat_processes: Callable[..., ChatProcess]) -> AsyncIterator[Callable[..., Watched]]:
    """A run.py with room for a few thousand connections (its file limit is this process's)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 8192 if hard == resource.RLIM_INFINITY else min(hard, 8192)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    http = AsyncHTTPClient(force_instance=True)
    yield lambda *args: Watched(chat := chat_processes(*args), Client(chat.base_url, http))
    http.close()


def port_of(chat: ChatProcess) -> int:
    return int(chat.base_url.rsplit(":", 1)[1])


async def reconnect(port: int, account: Account, timeout: int) -> tuple[int, int]:
    """A client coming back: a new connection, the cursorless request, then a poll with its cursor."""
    raw = await Raw.open(port)
    try:
        raw.send("/api/events", account.token)
        first, body = await raw.answer()
        if first != 200:
            return first, 0
        raw.send(f"/api/events?cursor={body['cursor']}&timeout={timeout}", account.token)
        return first, (await raw.answer())[0]
    finally:
        raw.close()


async def quiet_cursors(port: int, accounts: list[Account]) -> list[str]:
    """Each client's cursor once the crowd's own arrivals have been told, so that a poll with it parks."""

    async def cursor(account: Account) -> str:
        raw = await Raw.open(port)
        try:
            raw.send("/api/events", account.token)
            return (await raw.answer())[1]["cursor"]
        finally:
            raw.close()

    await asyncio.gather(*(cursor(a) for a in accounts))
    await asyncio.sleep(2.5)  # every arrival is announced: at most one presence event per group every 2 s
    return await asyncio.gather(*(cursor(a) for a in accounts))


async def parked(port: int, accounts: list[Account], cursors: list[str]) -> list[Raw]:
    """A new connection per client, each with a poll sent (its answer is not read here)."""
    clients = []
    for account, cursor in zip(accounts, cursors, strict=True):
        clients.append(raw := await Raw.open(port))
        raw.send(f"/api/events?cursor={cursor}&timeout=60", account.token)
    return clients


async def test_a_thousand_clients_reconnecting_at_once_are_all_answered_and_then_forgotten(
    watched: Callable[..., Watched], database: DatabaseURL
) -> None:
    server = watched()
    port = port_of(server.chat)
    people = await crowd(database, 1000)
    fds = await server.fds_but_pool()
    # A first storm by the same clients sets the baseline: it leaves Python's small-object arenas
    # at their high-water mark and the users' sessions and presence (online for 45 s) in memory.
    await asyncio.gather(*(reconnect(port, a, 1) for a in people.accounts))
    await server.back_to(fds)
    rss = server.rss()

    answers = await asyncio.gather(*(reconnect(port, a, 1) for a in people.accounts), return_exceptions=True)
    failed = [a for a in answers if not isinstance(a, tuple)]
    assert failed == []
    assert sorted(set(answers)) == [(200, 200)]

    await server.back_to(fds)
    assert server.rss() <= rss + MEMORY_SLACK


async def test_clients_that_never_read_their_answers_are_let_go_after_the_idle_timeout(
    watched: Callable[..., Watched], database: DatabaseURL
) -> None:
    server = watched("--idle-timeout", "1")
    port = port_of(server.chat)
    people = await crowd(database, 300, group_size=300)
    fds, rss = await server.fds_but_pool(), server.rss()
    cursors = await quiet_cursors(port, people.accounts)
    sleepers = await parked(port, people.accounts, cursors)  # they never read
    try:
        sender = people.accounts[0]
        await until_metric(server.client, "chat_open_polls", len(sleepers))
        r = await server.client.send(sender, people.group_ids[0], "wake up, and do not read this")
        assert r.status == 201
        await server.back_to(fds)
        assert server.rss() <= rss + MEMORY_SLACK
    finally:
        for raw in sleepers:
            raw.close()


async def test_clients_that_leave_mid_poll_free_their_polls_at_once(
    watched: Callable[..., Watched], database: DatabaseURL
) -> None:
    server = watched()
    port = port_of(server.chat)
    people = await crowd(database, 300, group_size=300)
    fds, rss = await server.fds_but_pool(), server.rss()
    cursors = await quiet_cursors(port, people.accounts)
    leavers = await parked(port, people.accounts, cursors)
    try:
        await until_metric(server.client, "chat_open_polls", len(leavers))
    finally:
        for raw in leavers:
            with contextlib.suppress(OSError):
                raw.writer.transport.abort()
    await server.back_to(fds)  # well before the polls' 60 s
    assert server.rss() <= rss + MEMORY_SLACK


async def test_clients_that_never_read_a_big_answer_are_dropped_with_its_unsent_bytes(
    watched: Callable[..., Watched], database: DatabaseURL
) -> None:
    server = watched("--idle-timeout", "1")
    port = port_of(server.chat)
    client = server.client
    ana = await client.register()
    group = await client.create_group(ana)
    photo = encode(noise((1800, 1700)), "PNG")  # about 9 MB that do not compress
    r = await upload(client, ana, group["id"], photo)
    assert r.status == 201, r.body
    path = r.json["message"]["image"]["url"]
    fds = await server.fds_but_pool()
    # Ten clients that read it whole set the baseline: each database connection that read the
    # blob keeps a buffer of its size (aiomysql), and ten answers at once took ten of them.
    fetched = await asyncio.gather(*(client.request("GET", path, token=ana.token) for _ in range(10)))
    assert all(f.status == 200 and len(f.body) > 8 * 2**20 for f in fetched)
    await server.back_to(fds)
    rss = server.rss()

    readers = []
    request = f"GET {path} HTTP/1.1\r\nHost: chat\r\nAuthorization: Bearer {ana.token}\r\n\r\n".encode()
    for _ in range(10):
        raw = socket.socket()
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a window the answer will not fit through
        raw.connect(("127.0.0.1", port))
        raw.sendall(request)
        readers.append(raw)  # which never reads
    try:
        await server.back_to(fds)
        assert server.rss() <= rss + MEMORY_SLACK
    finally:
        for raw in readers:
            raw.close()
