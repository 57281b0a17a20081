"""What happens when someone acts: store it, then tell everyone who must know.

Handlers call these; each write commits in storage first and only then goes
to the notifier (and so to every waiter), never the other way round.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import redis.asyncio as redis

from . import images
from .auth import LoginThrottle, PasswordHasher, RedisLoginThrottle, SessionCache, new_token, token_hash
from .config import Settings
from .events import EventStream
from .hub import Hub, Notifier
from .metrics import Metrics
from .models import Group, Message, User
from .presence import Presence
from .storage import Storage, UsernameTaken
from .validation import USERNAME_RE

HEALTH_TIMEOUT = 2.0
IMAGE_WORKERS = 2


class TooManyAttempts(Exception):
    """Sign-ins for this username or from this address are paused for ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
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
        self.presence = Presence(storage, notifier, settings)
        self.metrics = Metrics(open_polls=lambda: self.presence.open_polls)
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

    async def register(self, username: str, password: str) -> User:
        """Create an account from already validated fields; UsernameTaken if the name is taken."""
        if await self.storage.user_credentials(username):
            raise UsernameTaken(username)
        return await self.storage.create_user(username, await self.hasher.hash(password))

    async def authenticate(self, username: str, password: str, address: str) -> User:
        """Check credentials, throttled per username and per address."""
        throttles = ((self.user_throttle, username.lower()), (self.address_throttle, address))
        wait = max([await throttle.retry_after(key) for throttle, key in throttles])
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
        if user is None:
            user = await self.storage.session_user(hashed)
            if user is not None and cached:
                self.sessions.put(hashed, user)
        return user

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
