"""Test harness: a real MariaDB server, real HTTP servers, real HTTP clients.

The database server is a private one started for the session under pytest's
temporary directory (or the server named by CHAT_TEST_DATABASE_URL); the
session's database is a throwaway one, dropped at the end. Each test gets its
own application (own hub, presence and throttles) on a free port; tests keep
out of each other's way by using fresh usernames and group names.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import pymysql
import pytest
import tornado.httpserver
from tornado.httpclient import AsyncHTTPClient, HTTPRequest

from tornado_chat.app import ChatApp, create_app
from tornado_chat.config import PROJECT_ROOT, DatabaseURL, Settings
from tornado_chat.dbserver import EmbeddedMariaDB

PASSWORD = "correct horse battery"


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def db_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], DatabaseURL]]:
    """A function giving the URL of a named database on the test server."""
    external = os.environ.get("CHAT_TEST_DATABASE_URL")
    if external:
        base = DatabaseURL.parse(external)
        yield lambda name: dataclasses.replace(base, database=name)
        return
    server = EmbeddedMariaDB(tmp_path_factory.mktemp("mariadb"))
    server.start()
    try:
        yield lambda name: DatabaseURL.parse(server.url(name))
    finally:
        server.stop()


def connect(url: DatabaseURL, with_database: bool = True) -> pymysql.Connection:
    kwargs = url.connect_kwargs(with_database)
    if "db" in kwargs:
        kwargs["database"] = kwargs.pop("db")
    return pymysql.connect(autocommit=True, **kwargs)


def drop_database(url: DatabaseURL) -> None:
    conn = connect(url, with_database=False)
    try:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{url.database}`")
    finally:
        conn.close()


@pytest.fixture(scope="session")
def database(db_server: Callable[[str], DatabaseURL]) -> Iterator[DatabaseURL]:
    """The session's throwaway database (created with the schema by the first app)."""
    url = db_server(unique("tc_test"))
    yield url
    drop_database(url)


def query(url: DatabaseURL, sql: str, args: Any = None) -> list[tuple[Any, ...]]:
    """Read the database directly, as a reviewer would, to check what was stored."""
    conn = connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, args)
            return list(cur.fetchall())
    finally:
        conn.close()


class StatementCounter:
    """The server's count of client statements, read over one connection of its own:
    each reading adds exactly one (itself)."""

    def __init__(self, url: DatabaseURL) -> None:
        self._conn = connect(url)

    def __call__(self) -> int:
        with self._conn.cursor() as cur:
            cur.execute("SHOW GLOBAL STATUS LIKE 'Questions'")
            return int(cur.fetchone()[1])

    def since(self, before: int) -> int:
        """Statements others sent since ``before`` was read."""
        return self() - before - 1

    def close(self) -> None:
        self._conn.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Response:
    status: int
    headers: Any
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def error_code(self) -> str | None:
        data = self.json
        return data["error"]["code"] if isinstance(data, dict) and "error" in data else None


@dataclass
class Account:
    id: int
    username: str
    password: str
    token: str

    @property
    def user(self) -> dict[str, Any]:
        return {"id": self.id, "username": self.username}


@dataclass
class Client:
    """An HTTP client speaking the contract. With ``cookies`` it keeps a cookie jar like a browser."""

    base_url: str
    http: AsyncHTTPClient
    cookies: dict[str, str] | None = None
    default_headers: dict[str, str] = field(default_factory=dict)

    async def request(
        self,
        method: str,
        path: str,
        json_body: Any = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        body: bytes | str | None = None,
        timeout: float = 30.0,
    ) -> Response:
        all_headers = dict(self.default_headers)
        if json_body is not None:
            body = json.dumps(json_body)
            all_headers["Content-Type"] = "application/json"
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        if self.cookies:
            all_headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        all_headers.update(headers or {})
        if body is None and method in ("POST", "PUT"):
            body = b""
        response = await self.http.fetch(
            HTTPRequest(
                self.base_url + path, method=method, headers=all_headers, body=body,
                request_timeout=timeout, allow_nonstandard_methods=True, follow_redirects=False,
            ),
            raise_error=False,
        )
        if self.cookies is not None:
            for header in response.headers.get_list("Set-Cookie"):
                jar: SimpleCookie = SimpleCookie()
                jar.load(header)
                for name, morsel in jar.items():
                    if morsel.value and morsel["expires"] != "Thu, 01 Jan 1970 00:00:00 GMT":
                        self.cookies[name] = morsel.value
                    else:
                        self.cookies.pop(name, None)
        if response.code == 599:
            raise response.error or RuntimeError("request failed")
        return Response(response.code, response.headers, response.body or b"")

    async def register(self, prefix: str = "user", password: str = PASSWORD) -> Account:
        username = unique(prefix)[:32]
        r = await self.request("POST", "/api/users", {"username": username, "password": password})
        assert r.status == 201, r.body
        return Account(r.json["user"]["id"], username, password, r.json["token"])

    async def create_group(self, owner: Account, prefix: str = "group") -> dict[str, Any]:
        r = await self.request("POST", "/api/groups", {"name": unique(prefix)}, token=owner.token)
        assert r.status == 201, r.body
        return r.json["group"]

    async def join(self, account: Account, group_id: int) -> None:
        r = await self.request("PUT", f"/api/groups/{group_id}/membership", token=account.token)
        assert r.status == 200, r.body

    async def send(self, account: Account, group_id: int, text: str, client_id: str | None = None) -> Response:
        payload: dict[str, Any] = {"text": text}
        if client_id is not None:
            payload["client_id"] = client_id
        return await self.request("POST", f"/api/groups/{group_id}/messages", payload, token=account.token)

    async def poll(self, account: Account, cursor: str | None = None, timeout: float = 10) -> Response:
        path = "/api/events" if cursor is None else f"/api/events?cursor={cursor}&timeout={timeout}"
        return await self.request("GET", path, token=account.token, timeout=timeout + 10)

    async def cursor(self, account: Account) -> str:
        r = await self.poll(account)
        assert r.status == 200, r.body
        return r.json["cursor"]


@dataclass
class Server:
    app: ChatApp
    settings: Settings
    base_url: str
    http: AsyncHTTPClient

    def client(self, cookies: bool = False) -> Client:
        return Client(self.base_url, self.http, {} if cookies else None)


NO_RATE_LIMITS = {"register_limit": None, "send_limit": None, "upload_limit": None, "typing_limit": None}
NO_RATE_LIMIT_FLAGS = ("--register-limit", "off", "--send-limit", "off", "--upload-limit", "off",
                       "--typing-limit", "off")


def make_settings(database: DatabaseURL, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"database": database, "cookie_secret": "test-secret-" + "x" * 32, "bcrypt_rounds": 4}
    values.update(NO_RATE_LIMITS)  # tests of the limits (test_security.py) turn them on
    values.update(overrides)
    return Settings(**values)


StartServer = Callable[..., Awaitable[Server]]


@pytest.fixture
async def start_server(database: DatabaseURL) -> AsyncIterator[StartServer]:
    """Start an application (settings overridable) on a free port; all are stopped after the test."""
    started: list[tuple[tornado.httpserver.HTTPServer, ChatApp]] = []
    http = AsyncHTTPClient(force_instance=True, max_clients=1000)

    async def start(**overrides: Any) -> Server:
        settings = make_settings(overrides.pop("database", database), **overrides)
        app = await create_app(settings)
        port = free_port()
        server = tornado.httpserver.HTTPServer(app)
        server.listen(port, "127.0.0.1")
        started.append((server, app))
        return Server(app, settings, f"http://127.0.0.1:{port}", http)

    yield start
    for server, app in started:
        server.stop()
        await server.close_all_connections()
        await app.close()
    http.close()
    await asyncio.sleep(0)


@pytest.fixture
async def server(start_server: StartServer) -> Server:
    return await start_server()


@pytest.fixture
def client(server: Server) -> Client:
    return server.client()


class RedisServer:
    """A private redis-server on a free port, which a test may stop and start again."""

    def __init__(self, directory: str) -> None:
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", self.directory],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                conn.sendall(b"PING\r\n")
                if conn.recv(16).startswith(b"+PONG"):
                    return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Redis for the session: CHAT_TEST_REDIS_URL, or a private redis-server."""
    external = os.environ.get("CHAT_TEST_REDIS_URL")
    if external:
        yield external
        return
    server = RedisServer(str(tmp_path_factory.mktemp("redis")))
    server.start()
    yield server.url
    server.stop()


@dataclass
class ChatProcess:
    """run.py as a real process of its own."""

    process: subprocess.Popen[str]
    base_url: str
    log_path: Path


@pytest.fixture
def chat_processes(database: DatabaseURL, tmp_path: Path) -> Iterator[Callable[..., ChatProcess]]:
    """Start run.py processes on free ports, sharing the test database; all stopped after the test."""
    started: list[ChatProcess] = []

    def start(*args: str) -> ChatProcess:
        port = free_port()
        log_path = tmp_path / f"run-{port}.log"
        log_file = log_path.open("w")
        process = subprocess.Popen(
            [sys.executable, "run.py", "--port", str(port), "--database-url", database.url(),
             "--bcrypt-rounds", "4", "--var-dir", str(tmp_path / "var"), "--cookie-secret", "test-secret",
             *NO_RATE_LIMIT_FLAGS, *args],
            cwd=PROJECT_ROOT, stdout=log_file, stderr=subprocess.STDOUT, text=True,
        )
        chat = ChatProcess(process, f"http://127.0.0.1:{port}", log_path)
        started.append(chat)
        wait_until_healthy(chat)
        return chat

    yield start
    for chat in started:
        if chat.process.poll() is None:
            chat.process.send_signal(signal.SIGTERM)
    for chat in started:
        try:
            chat.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            chat.process.kill()


def wait_until_healthy(chat: ChatProcess, limit: float = 60) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if chat.process.poll() is not None:
            raise RuntimeError(f"run.py exited: {chat.log_path.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(chat.base_url + "/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("run.py did not become healthy")


@pytest.fixture
def no_tracebacks(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """No request may end in an uncaught exception, whatever its status."""
    caplog.set_level(logging.ERROR, logger="tornado.application")
    yield
    errors = [r.getMessage() for r in caplog.records if r.name == "tornado.application" and r.levelno >= logging.ERROR]
    assert not errors, errors[:3]


FUZZ_REPORT: list[str] = []  # what the generated-input tests ran: "N cases, 0 server errors"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Show, after the run, how many generated cases the hostile-input tests sent."""
    if FUZZ_REPORT:
        terminalreporter.section("generated cases")
        for line in FUZZ_REPORT:
            terminalreporter.write_line(line)
