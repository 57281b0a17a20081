"""What happens when someone acts: store it, then tell everyone who must know.

Handlers call these; each write commits in storage first and only then goes
to the notifier (and so to every waiter), never the other way round.
"""

from __future__ import annotations

import asyncio
import datetime
from concurrent.futures import ThreadPoolExecutor

import redis.asyncio as redis

from . import images
from .auth import LoginThrottle, PasswordHasher, RedisLoginThrottle, SessionCache, new_token, token_hash
from .config import Settings
from .events import EventStream
from .hub import Hub, Notifier
from .metrics import Metrics
from .models import Group, Message, User, utcnow
from .presence import Presence
from .ratelimit import RateLimiter
from .storage import Storage, UsernameTaken
from .validation import USERNAME_RE

HEALTH_TIMEOUT = 2.0
IMAGE_WORKERS = 2


class TooManyAttempts(Exception):
    """Sign-ins for this username or from this address are paused for ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


class RateLimited(Exception):
    """Too many actions of one kind (``what``) for now: try again in ``retry_after`` seconds."""

    def __init__(self, what: str, retry_after: int) -> None:
        super().__init__(what, retry_after)
        self.what = what
        self.retry_after = retry_after


class BadCredentials(Exception):
    """Unknown username or wrong password: deliberately not saying which."""


class ChatService:
    def __init__(
        self,
        settings: Settings,
        storage: Storage,
        hub: Hub,
        notifier: Notifier,
        sessions: SessionCache,
        redis_client: redis.Redis | None = None,
    ) -> None:
        self.settings = settings
        self.storage = storage
        self.hub = hub
        self.notifier = notifier
        self.sessions = sessions
        self.hasher = PasswordHasher(settings.bcrypt_rounds)
        self.user_throttle = self._throttle(redis_client, "user", settings.login_failures_per_user)
        self.address_throttle = self._throttle(redis_client, "address", settings.login_failures_per_address)
        self.limits = {
            "register": RateLimiter(settings.register_limit),
            "send": RateLimiter(settings.send_limit),
            "upload": RateLimiter(settings.upload_limit),
            "typing": RateLimiter(settings.typing_limit),
        }
        # Refreshing a session's last use: often enough for its idle timeout, rarely enough to cost nothing.
        self._touch_every = datetime.timedelta(
            seconds=min(settings.session_touch_interval, settings.session_idle_timeout / 10)
        )
        self.presence = Presence(storage, notifier, settings)
        self.metrics = Metrics(open_polls=lambda: self.presence.open_polls)
        self.metrics.watch_bcrypt(lambda: self.hasher.operations)
        self.metrics.watch_pool(storage.pool_use)
        self.stream = EventStream(storage, hub, self.presence, self.metrics)
        # Decoding is CPU- and memory-hungry: a few at a time, off the event loop.
        self._image_executor = ThreadPoolExecutor(IMAGE_WORKERS, thread_name_prefix="images")

    def _throttle(self, client: redis.Redis | None, scope: str, allowed: int) -> LoginThrottle | RedisLoginThrottle:
        """Counted in Redis when there is one, so that every process sees every attempt."""
        window, max_delay = self.settings.login_failure_window, self.settings.login_max_delay
        if client is None:
            return LoginThrottle(allowed, window, max_delay)
        return RedisLoginThrottle(client, scope, allowed, window, max_delay)

    def charge(self, what: str, key: object) -> None:
        """Count one action against its rate limit; RateLimited when there is none left."""
        retry_after = self.limits[what].take(key)
        if retry_after:
            raise RateLimited(what, retry_after)

    async def register(self, username: str, password: str, address: str | None = None) -> User:
        """Create an account from already validated fields; UsernameTaken if the name is taken.
        Rate-limited per ``address``."""
        if address is not None:
            self.charge("register", address)
        if await self.storage.user_credentials(username):
            raise UsernameTaken(username)
        return await self.storage.create_user(username, await self.hasher.hash(password))

    async def authenticate(self, username: str, password: str, address: str) -> User:
        """Check credentials, throttled per username and per address."""
        throttles = ((self.user_throttle, username.lower()), (self.address_throttle, address))
        # Someone guessing a victim's password must not lock the victim out for long: from
        # an address that has not failed, the account's pause ends after a short cap.
        clean = not await self.address_throttle.has_failed(address)
        cap = self.settings.login_clean_address_delay if clean else None
        wait = max(await self.user_throttle.retry_after(username.lower(), cap),
                   await self.address_throttle.retry_after(address))
        if wait:
            raise TooManyAttempts(wait)
        found = await self.storage.user_credentials(username) if USERNAME_RE.match(username) else None
        verified = await self.hasher.check(password, found[1] if found else None)
        if found is None or not verified:
            for throttle, key in throttles:
                await throttle.failed(key)
            raise BadCredentials()
        await self.user_throttle.succeeded(username.lower())
        return found[0]

    async def open_session(self, user: User) -> str:
        """A new session for ``user``; the token is both the cookie's value and the Bearer token."""
        token = new_token()
        await self.storage.create_session(user.id, token_hash(token))
        return token

    async def groups(self, user: User) -> list[Group]:
        return await self.storage.groups(user.id, self.presence.online_since())

    async def create_group(self, user: User, name: str, key: str) -> Group:
        group_id, _ = await self.storage.create_group(name, key, user.id)
        await self._membership_changed(user, group_id, joined=True)
        return await self.storage.group(group_id, user.id, self.presence.online_since())

    async def join(self, user: User, group_id: int) -> Group:
        _, changed = await self.storage.join(group_id, user.id)
        if changed:
            await self._membership_changed(user, group_id, joined=True)
        return await self.storage.group(group_id, user.id, self.presence.online_since())

    async def leave(self, user: User, group_id: int) -> None:
        if await self.storage.leave(group_id, user.id):
            await self._membership_changed(user, group_id, joined=False)

    async def _membership_changed(self, user: User, group_id: int, joined: bool) -> None:
        self.notifier.membership_changed(user.id, group_id)
        await self.presence.membership_changed(user, group_id, joined)

    async def send_text(self, user: User, group_id: int, text: str, client_id: str | None) -> tuple[Message, bool]:
        self.charge("send", user.id)
        return self._stored(*await self.storage.insert_message(group_id, user, client_id, text=text))

    async def send_image(self, user: User, group_id: int, data: bytes, client_id: str | None) -> tuple[Message, bool]:
        """Check membership and retries first (cheap), then decode and re-encode in the
        image executor (ImageRejected when it cannot be stored), then store."""
        await self.storage.membership(group_id, user.id)
        if client_id is not None:
            existing = await self.storage.message_by_client_id(group_id, user.id, client_id)
            if existing is not None:
                return existing, False
        loop = asyncio.get_running_loop()
        processed = await loop.run_in_executor(self._image_executor, images.process, data)
        return self._stored(*await self.storage.insert_message(group_id, user, client_id, image=processed))

    async def typing(self, user: User, group_id: int) -> None:
        """Tell the group's other members that ``user`` is typing (members only, rate-limited)."""
        await self.storage.membership(group_id, user.id)
        self.charge("typing", user.id)
        self.notifier.typing(group_id, user)

    def _stored(self, message: Message, created: bool) -> tuple[Message, bool]:
        if created:
            self.metrics.messages.inc()
            self.notifier.message_stored(message)
        return message, created

    async def session_user(self, token: str, cached: bool = False) -> User | None:
        """Whose session ``token`` is. ``cached``: for the long poll, which may use the
        session cache (see auth.SessionCache); everything else asks MySQL."""
        hashed = token_hash(token)
        user = self.sessions.get(hashed) if cached else None
        if user is not None:
            return user
        now = utcnow()
        found = await self.storage.session_user(
            hashed, now - datetime.timedelta(seconds=self.settings.session_idle_timeout)
        )
        if found is None:
            return None
        user, last_used = found
        if now - last_used >= self._touch_every:
            await self.storage.touch_session(hashed, now)
            last_used = now
        if cached:
            idle_left = self.settings.session_idle_timeout - (now - last_used).total_seconds()
            self.sessions.put(hashed, user, idle_left)
        return user

    async def delete_idle_sessions(self) -> None:
        """Drop the rows of sessions past their idle timeout (they are refused anyway)."""
        await self.storage.delete_idle_sessions(
            utcnow() - datetime.timedelta(seconds=self.settings.session_idle_timeout)
        )

    async def revoke_session(self, token: str) -> None:
        hashed = token_hash(token)
        await self.storage.delete_session(hashed)
        self.notifier.session_revoked(hashed)

    async def database_answers(self) -> bool:
        try:
            await asyncio.wait_for(self.storage.ping(), HEALTH_TIMEOUT)
        except Exception:
            return False
        return True
