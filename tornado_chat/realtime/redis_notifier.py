"""The notifier for many processes: every committed change goes through Redis pub/sub.

Each change is applied to this process's hub at once, then published (in order,
by one publisher task) to every other process, which applies it to its own hub.
A process hears its own publications back and skips them.

Redis carries wake-ups, never the truth: MySQL has every message. While Redis
is unreachable, publications are dropped and every process catches up by
reading MySQL once a second (``Feed.resync``), and the session cache is off; the
same read runs every 10 s while connected, as a safety net for a publication lost
with a dying process.
After an outage the hub starts a new epoch (clients get fresh presence
snapshots) and every waiter re-reads its memberships.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import Iterable
from typing import Any

import redis.asyncio as redis
from redis import exceptions as redis_errors
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import ExponentialBackoff
from redis.exceptions import RedisError

from .. import wire
from ..auth import SessionCache
from ..config import SentinelURL
from ..models import LogEntry, User
from ..store.database import DatabaseUnavailable
from .feed import Feed
from .hub import Hub

log = logging.getLogger(__name__)

CHANNEL = "tornado_chat:changes"
RESYNC_CONNECTED = 10.0  # seconds: the safety net's period while publications arrive
RESYNC_DISCONNECTED = 1.0  # while they do not, MySQL is the only news: a second's delay at most
RECONNECT_FIRST_DELAY = 0.1
RECONNECT_MAX_DELAY = 5.0  # a restarted Redis is found again within seconds, without hammering a dead one
QUEUE_LIMIT = 10_000  # changes waiting to be published; past it they are dropped and the resync covers them
# The client's own retries: a command on a dropped connection is tried again with this back-off.
COMMAND_RETRIES = 3
COMMAND_BACKOFF_BASE = 0.05
COMMAND_BACKOFF_CAP = 1.0
HEALTH_CHECK_SECONDS = 10  # a connection idle this long is checked before use
CONNECT_TIMEOUT = 2.0


def connect(url: str) -> redis.Redis:
    """A client that retries a command on a dropped connection (a restarted Redis leaves
    stale connections in the pool) and checks connections that sat idle. Behind Sentinel
    (``SentinelURL``), every new connection asks the sentinels for the primary, so the
    connections made after a failover go to the promoted replica."""
    options: dict[str, Any] = {
        "retry": Retry(ExponentialBackoff(cap=COMMAND_BACKOFF_CAP, base=COMMAND_BACKOFF_BASE), COMMAND_RETRIES),
        "retry_on_error": [redis_errors.ConnectionError, redis_errors.TimeoutError],
        "health_check_interval": HEALTH_CHECK_SECONDS,
        "socket_connect_timeout": CONNECT_TIMEOUT,
    }
    if not url.startswith(SentinelURL.SCHEME + ":"):
        return redis.from_url(url, **options)
    where = SentinelURL.parse(url)
    sentinel = Sentinel(list(where.sentinels), socket_connect_timeout=CONNECT_TIMEOUT)
    return sentinel.master_for(where.service, db=where.db, password=where.password, **options)


class RedisNotifier:
    def __init__(self, hub: Hub, feed: Feed, sessions: SessionCache, client: redis.Redis) -> None:
        self._hub = hub
        self._feed = feed
        self._sessions = sessions
        self._client = client
        self._origin = secrets.token_hex(8)
        self._queue: asyncio.Queue[str] = asyncio.Queue(QUEUE_LIMIT)
        self._tasks: list[asyncio.Task[None]] = []
        self._was_connected = False
        self.connected = False
        self.received = 0

    def start(self) -> None:
        self._tasks = [asyncio.create_task(coro) for coro in (self._listen(), self._publish(), self._resync())]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._client.aclose()

    # The seam

    def logged(self, entry: LogEntry) -> None:
        self._hub.logged(entry)
        self._send("entry", {"group_id": entry.group_id, "pos": entry.pos, "seq": entry.seq,
                             "event": entry.event, "created": entry.created})

    def typing(self, group_id: int, user: User) -> None:
        self._hub.typing(group_id, user)
        self._send("typing", {"group_id": group_id, "user": wire.user(user)})

    def presence_changed(self, group_id: int, came: Iterable[User], went: Iterable[User]) -> None:
        came, went = list(came), list(went)
        self._hub.presence_changed(group_id, came, went)
        self._send("presence", {"group_id": group_id, "came": wire.users(came), "went": wire.users(went)})

    def membership_changed(self, user: User, group_id: int, joined: bool | None) -> None:
        self._hub.membership_changed(user, group_id, joined)
        self._send("membership", {"user": wire.user(user), "group_id": group_id, "joined": joined})

    def read_moved(self, user_id: int, group_id: int, last_read_seq: int | None, notify: str | None) -> None:
        self._hub.read_moved(user_id, group_id, last_read_seq, notify)
        self._send("read", {"user_id": user_id, "group_id": group_id, "last_read_seq": last_read_seq, "notify": notify})

    def session_revoked(self, token_hash: str) -> None:
        self._sessions.forget(token_hash)
        self._send("session", {"token_hash": token_hash})

    def _send(self, kind: str, body: dict[str, Any]) -> None:
        if not self.connected:
            return  # the others catch up from MySQL
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(wire.change(self._origin, kind, body))

    def _apply(self, kind: str, body: dict[str, Any]) -> None:
        if kind == "entry":
            self._hub.logged(LogEntry(**body))
        elif kind == "typing":
            self._hub.typing(body["group_id"], wire.user_from(body["user"]))
        elif kind == "presence":
            self._hub.presence_changed(
                body["group_id"], [wire.user_from(u) for u in body["came"]], [wire.user_from(u) for u in body["went"]]
            )
        elif kind == "membership":
            self._hub.membership_changed(wire.user_from(body["user"]), body["group_id"], body["joined"])
        elif kind == "read":
            self._hub.read_moved(body["user_id"], body["group_id"], body["last_read_seq"], body["notify"])
        elif kind == "session":
            self._sessions.forget(body["token_hash"])

    # Background work

    async def _publish(self) -> None:
        """One publisher, so changes leave (and arrive) in the order they happened."""
        while True:
            payload = await self._queue.get()
            try:
                await self._client.publish(CHANNEL, payload)
            except (RedisError, OSError) as exc:
                log.warning("publishing to Redis failed: %s", exc)

    async def _listen(self) -> None:
        delay = RECONNECT_FIRST_DELAY
        while True:
            pubsub = self._client.pubsub()
            try:
                await pubsub.subscribe(CHANNEL)
                if not self.connected:
                    self._connected()
                delay = RECONNECT_FIRST_DELAY
                async for item in pubsub.listen():
                    if item["type"] != "message":
                        continue
                    self._receive(item["data"])
            except (RedisError, OSError) as exc:
                if self.connected:
                    log.warning("lost Redis, catching up from MySQL until it is back: %s", exc)
                self.connected = False
                self._sessions.enabled = False  # revocations from other processes would not arrive
                self._drain_queue()
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()
            await asyncio.sleep(delay)
            delay = min(RECONNECT_MAX_DELAY, delay * 2)

    def _connected(self) -> None:
        self.connected = True
        self._sessions.clear()  # whatever was revoked while we were not listening
        self._sessions.enabled = True
        log.info("listening to Redis")
        if self._was_connected:  # back after an outage: what was not heard must be read again
            self._hub.start_new_epoch()
            self._hub.wake_everyone()
            asyncio.get_running_loop().create_task(self._catch_up())
        self._was_connected = True

    def _receive(self, data: bytes | str) -> None:
        try:
            change = json.loads(data)
            if change["origin"] != self._origin:
                self._apply(change["kind"], change["body"])
                self.received += 1
        except (ValueError, KeyError, TypeError):
            log.exception("ignoring a malformed change from Redis")

    def _drain_queue(self) -> None:
        while not self._queue.empty():
            self._queue.get_nowait()

    async def _resync(self) -> None:
        while True:
            await asyncio.sleep(RESYNC_CONNECTED if self.connected else RESYNC_DISCONNECTED)
            await self._catch_up()

    async def _catch_up(self) -> None:
        try:
            await self._feed.resync()
        except DatabaseUnavailable:
            pass  # logged once by storage; the next round catches up
        except Exception:
            log.exception("catching up from MySQL")
