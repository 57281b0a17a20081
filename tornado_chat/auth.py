"""Passwords, session tokens and login throttling.

bcrypt runs in an executor: one hash at cost 12 takes about a quarter of a
second of CPU, which on the event loop would freeze every long poll.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import math
import secrets
import time
from collections import deque
from dataclasses import dataclass

import bcrypt
import redis.asyncio as redis
from redis.exceptions import RedisError

from .models import User

TOKEN_BYTES = 32  # 256 random bits: no session token is ever guessed
DECOY_PASSWORD_BYTES = 16
# A cached session is trusted this long without asking MySQL (a sign-out also drops it at once,
# on every process): long enough that the re-polls of a busy minute cost no query.
SESSION_CACHE_TTL = 60.0
SESSION_CACHE_LIMIT = 100_000  # entries; past it the cache starts afresh rather than grow
THROTTLE_PRUNE_ABOVE = 10_000  # keys: below this, forgetting old failures is not worth a scan


def _bcrypt_input(password: str) -> bytes:
    """SHA-256 first, base64 so no NUL: every password, whatever its length, counts
    whole (bcrypt alone reads 72 bytes, and bcrypt 5 raises on longer input)."""
    return base64.b64encode(hashlib.sha256(password.encode("utf-8")).digest())


class PasswordHasher:
    def __init__(self, rounds: int) -> None:
        self.rounds = rounds
        self.operations = 0  # bcrypt hashes and checks run, for /metrics: a sign-in runs one, known user or not
        self._decoy: str | None = None

    async def prepare(self) -> None:
        """Hash the decoy that unknown usernames are checked against, at start-up: made
        lazily, the first unknown username would take twice as long as a wrong password."""
        if self._decoy is None:
            self._decoy = await self.hash(secrets.token_urlsafe(DECOY_PASSWORD_BYTES))

    async def hash(self, password: str) -> str:
        self.operations += 1
        hashed = await asyncio.get_running_loop().run_in_executor(
            None, lambda: bcrypt.hashpw(_bcrypt_input(password), bcrypt.gensalt(self.rounds))
        )
        return hashed.decode("ascii")

    async def check(self, password: str, hashed: str | None) -> bool:
        """Check a password. With no hash (an unknown user) check against a decoy and
        say no: the answer takes as long as for a wrong password."""
        if hashed is None:
            await self.prepare()
            assert self._decoy is not None
            await self._checkpw(password, self._decoy)
            return False
        return await self._checkpw(password, hashed)

    async def _checkpw(self, password: str, hashed: str) -> bool:
        self.operations += 1
        return await asyncio.get_running_loop().run_in_executor(
            None, bcrypt.checkpw, _bcrypt_input(password), hashed.encode("ascii")
        )


def new_token() -> str:
    """A session token: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """What the database keeps of a token: a leaked table gives no usable token."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class SessionCache:
    """Recently checked sessions, for the long poll only: a delivery is followed by a
    re-poll, and that should cost no query. Every other request asks MySQL, so a
    sign-out is refused everywhere at once; a revocation also drops the entry here,
    on every process (through the notifier). ``enabled`` is off while revocations
    may not arrive (Redis away)."""

    def __init__(self, ttl: float = SESSION_CACHE_TTL, limit: int = SESSION_CACHE_LIMIT) -> None:
        self.ttl = ttl
        self.limit = limit
        self.enabled = True
        self._entries: dict[str, tuple[User, float]] = {}

    def get(self, token_hash: str) -> User | None:
        entry = self._entries.get(token_hash)
        if not self.enabled or entry is None or entry[1] < time.monotonic():
            return None
        return entry[0]

    def put(self, token_hash: str, user: User, idle_left: float) -> None:
        """Keep ``user`` for the TTL, or less when the session goes idle sooner
        (``idle_left`` seconds from now): a cached session must expire like a stored one."""
        if not self.enabled:
            return
        if len(self._entries) >= self.limit:
            self.clear()
        self._entries[token_hash] = (user, time.monotonic() + min(self.ttl, idle_left))

    def forget(self, token_hash: str) -> None:
        self._entries.pop(token_hash, None)

    def clear(self) -> None:
        self._entries.clear()


def pause_after(failures: int, allowed: int, max_delay: float) -> float:
    """Seconds to wait after ``failures`` in the window: none up to ``allowed``, then
    1 s, 2 s, 4 s, ... at most ``max_delay`` (slow for guessing, short for the owner)."""
    excess = failures - allowed
    return 0.0 if excess <= 0 else min(max_delay, 2.0 ** (excess - 1))


@dataclass
class _Failures:
    times: deque[float]
    blocked_at: float = 0.0
    pause: float = 0.0


class LoginThrottle:
    """Failed sign-ins per key (a username or an address), in this process."""

    def __init__(self, allowed: int, window: float, max_delay: float) -> None:
        self.allowed = allowed
        self.window = window
        self.max_delay = max_delay
        self._keys: dict[str, _Failures] = {}

    async def retry_after(self, key: str, cap: float | None = None) -> int:
        """Seconds until ``key`` may try again; 0 when it may now. ``cap``: a shorter
        pause, counted from the same failure (for a sign-in from an address that has not failed)."""
        entry = self._keys.get(key)
        if entry is None:
            return 0
        pause = entry.pause if cap is None else min(entry.pause, cap)
        return max(0, math.ceil(entry.blocked_at + pause - time.monotonic()))

    async def has_failed(self, key: str) -> bool:
        """Whether ``key`` failed within the window."""
        entry = self._keys.get(key)
        return entry is not None and bool(entry.times) and entry.times[-1] >= time.monotonic() - self.window

    async def failed(self, key: str) -> None:
        now = time.monotonic()
        entry = self._keys.setdefault(key, _Failures(deque()))
        while entry.times and entry.times[0] < now - self.window:
            entry.times.popleft()
        entry.times.append(now)
        pause = pause_after(len(entry.times), self.allowed, self.max_delay)
        if pause:
            entry.blocked_at, entry.pause = now, pause
        self._prune(now)

    async def succeeded(self, key: str) -> None:
        self._keys.pop(key, None)

    def _prune(self, now: float) -> None:
        """Bound memory: forget keys whose failures are all out of the window."""
        if len(self._keys) > THROTTLE_PRUNE_ABOVE:
            for key in [k for k, e in self._keys.items() if not e.times or e.times[-1] < now - self.window]:
                del self._keys[key]


class RedisLoginThrottle:
    """The same rule, counted in Redis, so that every process sees every attempt.
    While Redis is unreachable it counts in this process instead."""

    def __init__(self, client: redis.Redis, scope: str, allowed: int, window: float, max_delay: float) -> None:
        self._client = client
        self._scope = scope
        self._local = LoginThrottle(allowed, window, max_delay)

    def _key(self, key: str) -> str:
        return f"tornado_chat:login:{self._scope}:{hashlib.sha256(key.encode('utf-8', 'surrogatepass')).hexdigest()}"

    async def retry_after(self, key: str, cap: float | None = None) -> int:
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                pipe.get(self._key(key) + ":paused")
                pipe.pttl(self._key(key) + ":paused")
                pause, millis = await pipe.execute()
        except (RedisError, OSError):
            return await self._local.retry_after(key, cap)
        if cap is not None and pause is not None:
            millis -= max(0, int(pause) - int(cap * 1000))  # the value is the whole pause, in ms
        return math.ceil(millis / 1000) if millis > 0 else 0

    async def has_failed(self, key: str) -> bool:
        try:
            return bool(await self._client.exists(self._key(key)))
        except (RedisError, OSError):
            return await self._local.has_failed(key)

    async def failed(self, key: str) -> None:
        local = self._local
        name, now = self._key(key), time.time()
        try:
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.zadd(name, {secrets.token_hex(8): now})
                pipe.zremrangebyscore(name, "-inf", now - local.window)
                pipe.zcard(name)
                pipe.expire(name, math.ceil(local.window))
                _, _, failures, _ = await pipe.execute()
            pause = pause_after(failures, local.allowed, local.max_delay)
            if pause:
                await self._client.set(name + ":paused", int(pause * 1000), px=int(pause * 1000))
        except (RedisError, OSError):
            await local.failed(key)

    async def succeeded(self, key: str) -> None:
        try:
            await self._client.delete(self._key(key), self._key(key) + ":paused")
        except (RedisError, OSError):
            await self._local.succeeded(key)
