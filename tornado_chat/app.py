"""The application factory: builds the parts, wires them, and takes them down."""

from __future__ import annotations

import asyncio
from typing import Any

import tornado.httputil
import tornado.web
from tornado.ioloop import PeriodicCallback

from . import handlers, logs, pages
from .auth import SessionCache
from .config import PROJECT_ROOT, Settings
from .hub import Hub, LocalNotifier, Notifier
from .redis_notifier import RedisNotifier
from .redis_notifier import connect as connect_redis
from .service import ChatService
from .storage import Storage, ensure_database

GC_INTERVAL_MS = 60_000
IDLE_SESSIONS_INTERVAL_MS = 3_600_000
SHUTDOWN_GRACE = 3.0  # seconds for the released polls to write their answers


class ChatApp(tornado.web.Application):
    service: ChatService

    def find_handler(self, request: tornado.httputil.HTTPServerRequest, **kwargs: Any) -> Any:
        logs.start_request(request)
        return super().find_handler(request, **kwargs)

    def log_request(self, handler: tornado.web.RequestHandler) -> None:
        logs.access(handler)
        self.service.metrics.request_answered(
            type(handler).__name__, handler.request.method or "", handler.get_status()
        )

    async def close(self) -> None:
        """Answer the waiting polls, stop the timers, write pending presence, leave Redis,
        close the pool."""
        self.service.hub.release_waiters()
        for _ in range(int(SHUTDOWN_GRACE / 0.05)):
            if not self.service.presence.open_polls:
                break
            await asyncio.sleep(0.05)
        self._gc.stop()
        self._idle_sessions.stop()
        await self.service.presence.stop()
        if isinstance(self.service.notifier, RedisNotifier):
            await self.service.notifier.stop()
        await self.service.storage.close()


async def create_app(settings: Settings, notifier: Notifier | None = None, **tornado_settings: Any) -> ChatApp:
    """Create the database if needed, apply the schema, and start the background work."""
    await ensure_database(settings.database, settings.db_timeouts.connect)
    storage = await Storage.connect(settings.database, settings.db_pool_size, settings.db_timeouts)
    hub = Hub(storage, settings.presence_timeout)
    pages.load_translations()
    app = ChatApp(
        pages.routes() + handlers.routes(),
        default_handler_class=handlers.NotFoundHandler,
        cookie_secret=settings.cookie_secret,
        xsrf_cookies=True,
        xsrf_cookie_kwargs={"samesite": "Lax"},
        cross_origin_protection=True,
        template_path=str(PROJECT_ROOT / "templates"),
        static_path=str(PROJECT_ROOT / "static"),
        debug=settings.debug,
        **tornado_settings,
    )
    app.add_transform(logs.RequestIdHeader)
    sessions = SessionCache()
    redis_client = connect_redis(settings.redis_url) if settings.redis_url else None
    if notifier is None and redis_client is not None:
        notifier = RedisNotifier(hub, sessions, redis_client)
        notifier.start()
    app.service = ChatService(settings, storage, hub, notifier or LocalNotifier(hub, sessions), sessions, redis_client)
    if isinstance(notifier, RedisNotifier):
        redis_notifier = notifier
        app.service.metrics.watch_redis(lambda: float(redis_notifier.connected), lambda: redis_notifier.received)
    await app.service.hasher.prepare()
    app.service.presence.start()
    app._gc = PeriodicCallback(hub.collect_garbage, GC_INTERVAL_MS)
    app._gc.start()
    app._idle_sessions = PeriodicCallback(app.service.delete_idle_sessions, IDLE_SESSIONS_INTERVAL_MS)
    app._idle_sessions.start()
    return app
