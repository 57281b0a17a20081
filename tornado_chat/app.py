"""The composition root: ``create_app`` builds every part, wires them, and starts the
background work; ``ChatApp.close`` takes them down in order.

    handlers (web/) ─▶ services/ ─▶ store/ ─▶ MySQL
                          │ after commit
                          ▼
                       notifier ─▶ hub (realtime/) ─▶ waiters ─▶ stream ─▶ answers
                      (local or Redis)   ▲
                                         └─ feed: what memory lacks, read from store/
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import redis.asyncio as redis
import tornado.httputil
import tornado.web
from tornado.ioloop import PeriodicCallback

from . import logs
from .auth import LoginThrottle, PasswordHasher, RedisLoginThrottle, SessionCache
from .config import PROJECT_ROOT, Settings
from .metrics import Metrics
from .ratelimit import RateLimits
from .realtime.feed import Feed
from .realtime.hub import Hub
from .realtime.notifier import LocalNotifier, Notifier
from .realtime.redis_notifier import RedisNotifier
from .realtime.redis_notifier import connect as connect_redis
from .realtime.stream import EventStream
from .services import Services
from .services.accounts import Accounts
from .services.changes import Changes
from .services.groups import Groups
from .services.members import Members
from .services.membership_news import MembershipNews
from .services.messages import Messages
from .services.presence import Presence
from .services.push import PushService
from .services.read_state import ReadMarks
from .services.search import Search
from .services.your_data import YourData
from .store import Store
from .store.migrate import migrate
from .web.base import NoServerHeader, NotFoundHandler
from .web.pages import load_translations
from .web.routes import routes
from .web.static import StaticFile

GC_INTERVAL_MS = 60_000  # idle channels and stale membership caches are dropped this often
IDLE_SESSIONS_INTERVAL_MS = 3_600_000  # expired sessions are refused anyway: deleting their rows can wait
SHUTDOWN_GRACE = 3.0  # seconds for the released polls to write their answers
SHUTDOWN_POLL_CHECK = 0.05


@dataclass
class Parts:
    """What runs behind the services, kept for taking it down (and for tests that look inside)."""

    store: Store
    hub: Hub
    feed: Feed
    notifier: Notifier
    timers: list[PeriodicCallback]


class ChatApp(tornado.web.Application):
    services: Services
    parts: Parts

    def find_handler(self, request: tornado.httputil.HTTPServerRequest, **kwargs: Any) -> Any:
        logs.start_request(request)
        return super().find_handler(request, **kwargs)

    def log_request(self, handler: tornado.web.RequestHandler) -> None:
        logs.access(handler)
        self.services.metrics.request_answered(
            type(handler).__name__, handler.request.method or "", handler.get_status()
        )

    async def close(self) -> None:
        """Answer the waiting polls, stop the timers, write pending presence, leave Redis,
        close the pool."""
        self.parts.hub.release_waiters()
        for _ in range(int(SHUTDOWN_GRACE / SHUTDOWN_POLL_CHECK)):
            if not self.services.presence.open_polls:
                break
            await asyncio.sleep(SHUTDOWN_POLL_CHECK)
        for timer in self.parts.timers:
            timer.stop()
        await self.services.presence.stop()
        await self.services.push.stop()
        await self.services.read.stop()
        if isinstance(self.parts.notifier, RedisNotifier):
            await self.parts.notifier.stop()
        await self.parts.store.db.close()


async def create_app(settings: Settings, **tornado_settings: Any) -> ChatApp:
    """Bring the database's schema up to date, build and wire every part, start the background work."""
    await migrate(settings.database, settings.db_timeouts.connect)
    store = await Store.open(settings.database, settings.db_pool_size, settings.db_timeouts)
    hub = Hub()
    feed = Feed(hub, store, settings.presence_timeout)
    sessions = SessionCache()
    redis_client = connect_redis(settings.redis_url) if settings.redis_url else None
    notifier: Notifier
    if redis_client is not None:
        notifier = RedisNotifier(hub, feed, sessions, redis_client)
    else:
        notifier = LocalNotifier(hub, sessions)
    services = await _services(settings, store, hub, feed, notifier, sessions, redis_client)
    load_translations()
    app = ChatApp(
        routes(services),
        default_handler_class=NotFoundHandler,
        default_handler_args={"services": services},
        cookie_secret=settings.cookie_secret,
        xsrf_cookies=True,
        xsrf_cookie_kwargs={"samesite": "Lax"},
        cross_origin_protection=True,
        template_path=str(PROJECT_ROOT / "templates"),
        static_path=str(PROJECT_ROOT / "static"),
        static_handler_class=StaticFile,
        debug=settings.debug,
        **tornado_settings,
    )
    app.add_transform(logs.RequestIdHeader)
    app.add_transform(NoServerHeader)
    timers = [
        PeriodicCallback(hub.collect_garbage, GC_INTERVAL_MS),
        PeriodicCallback(feed.collect_garbage, GC_INTERVAL_MS),
        PeriodicCallback(services.accounts.delete_idle_sessions, IDLE_SESSIONS_INTERVAL_MS),
    ]
    if store.db.several_nodes and settings.db_failback_interval > 0:
        timers.append(PeriodicCallback(store.db.fail_back, settings.db_failback_interval * 1000))
    app.services, app.parts = services, Parts(store, hub, feed, notifier, timers)
    if isinstance(notifier, RedisNotifier):
        notifier.start()
    services.presence.start()
    services.push.start()
    for timer in timers:
        timer.start()
    return app


async def _services(
    settings: Settings,
    store: Store,
    hub: Hub,
    feed: Feed,
    notifier: Notifier,
    sessions: SessionCache,
    redis_client: redis.Redis | None,
) -> Services:
    presence = Presence(store, notifier, settings)
    metrics = Metrics(open_polls=lambda: presence.open_polls)
    hasher = PasswordHasher(settings.bcrypt_rounds)
    await hasher.prepare()
    limits = RateLimits({
        "register": settings.register_limit, "send": settings.send_limit,
        "upload": settings.upload_limit, "typing": settings.typing_limit, "search": settings.search_limit,
        "export": settings.export_limit,
    })
    throttles = (
        _login_throttle(settings, redis_client, "user", settings.login_failures_per_user),
        _login_throttle(settings, redis_client, "address", settings.login_failures_per_address),
    )
    metrics.watch_bcrypt(lambda: hasher.operations)
    metrics.watch_pool(store.db.pool_use)
    push = PushService(store.push, presence, settings)
    metrics.watch_push(push.figures)
    if isinstance(notifier, RedisNotifier):
        metrics.watch_redis(lambda: float(notifier.connected), lambda: notifier.received)
    news = MembershipNews(notifier, presence)
    groups = Groups(store.groups, store.presence, news, presence)
    accounts = Accounts(settings, store.accounts, notifier, sessions, hasher, throttles, limits)
    changes = Changes(store.changes, notifier)
    return Services(
        accounts=accounts,
        groups=groups,
        members=Members(store.members, groups, news),
        read=ReadMarks(store.read, store.groups, groups, notifier),
        search=Search(store.search, store.groups, limits),
        messages=Messages(
            store.messages, store.groups, notifier, news, limits, metrics.messages.inc, push.message_stored
        ),
        changes=changes,
        your_data=YourData(store.your_data, accounts, groups, changes, notifier, limits),
        events=EventStream(hub, feed, metrics.delivered),
        presence=presence,
        push=push,
        metrics=metrics,
        database_answers=store.db.answers,
    )


def _login_throttle(
    settings: Settings, client: redis.Redis | None, scope: str, allowed: int
) -> LoginThrottle | RedisLoginThrottle:
    """Failed sign-ins, counted in Redis when there is one, so that every process sees every attempt."""
    window, max_delay = settings.login_failure_window, settings.login_max_delay
    if client is None:
        return LoginThrottle(allowed, window, max_delay)
    return RedisLoginThrottle(client, scope, allowed, window, max_delay)
