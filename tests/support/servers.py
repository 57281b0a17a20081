"""Applications in the test's own process: each on a free port with its own hub, presence
and throttles, sharing the session's database, the rate limits off unless a test turns them on."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import tornado.httpserver
from tornado.httpclient import AsyncHTTPClient

from tornado_chat.app import ChatApp, create_app
from tornado_chat.config import DatabaseURL, Settings

from .http import Client, free_port


@dataclass
class Server:
    app: ChatApp
    settings: Settings
    base_url: str
    http: AsyncHTTPClient

    def client(self, cookies: bool = False) -> Client:
        return Client(self.base_url, self.http, {} if cookies else None)

    async def parked(self, count: int, limit: float = 5.0) -> None:
        """Wait (a condition, not a timing) until ``count`` polls are parked in the hub."""
        for _ in range(int(limit / 0.05)):
            if self.app.parts.hub.waiter_count == count:
                return
            await asyncio.sleep(0.05)


NO_RATE_LIMITS = {
    "register_limit": None, "send_limit": None, "upload_limit": None, "typing_limit": None, "search_limit": None,
    "export_limit": None,
}


def make_settings(database: DatabaseURL, **overrides: Any) -> Settings:
    """Settings for a test application: cheap bcrypt, no rate limits, then ``overrides``."""
    values: dict[str, Any] = {"database": database, "cookie_secret": "test-secret-" + "x" * 32, "bcrypt_rounds": 4}
    values.update(NO_RATE_LIMITS)  # tests of the limits (test_security.py) turn them on
    values.update(overrides)
    return Settings(**values)


StartServer = Callable[..., Awaitable[Server]]


@contextlib.asynccontextmanager
async def serving(database: DatabaseURL) -> AsyncIterator[StartServer]:
    """A function that starts an application (settings overridable) on a free port; all
    are stopped on leaving, with the HTTP client they share."""
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
