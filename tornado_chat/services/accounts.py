"""Accounts and sessions: sign-up, sign-in (throttled), and who a token belongs to."""

from __future__ import annotations

import datetime

from ..auth import LoginThrottle, PasswordHasher, RedisLoginThrottle, SessionCache, new_token, token_hash
from ..config import Settings
from ..errors import UsernameTaken
from ..models import User, utcnow
from ..ratelimit import RateLimits
from ..realtime.notifier import Notifier
from ..store.accounts import AccountStore
from ..validation import USERNAME_RE

# A session's last use is written at most this often (a tenth of the idle timeout if that is
# shorter): often enough for the timeout to hold, rarely enough to cost nothing per request.
TOUCH_FRACTION_OF_IDLE_TIMEOUT = 10


class TooManyAttempts(Exception):
    """Sign-ins for this username or from this address are paused for ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


class BadCredentials(Exception):
    """Unknown username or wrong password: deliberately not saying which."""


class Accounts:
    def __init__(
        self,
        settings: Settings,
        store: AccountStore,
        notifier: Notifier,
        sessions: SessionCache,
        hasher: PasswordHasher,
        throttles: tuple[LoginThrottle | RedisLoginThrottle, LoginThrottle | RedisLoginThrottle],
        limits: RateLimits,
    ) -> None:
        self._settings = settings
        self._store = store
        self._notifier = notifier
        self._sessions = sessions
        self._hasher = hasher
        self._user_throttle, self._address_throttle = throttles
        self._limits = limits
        self._idle_timeout = datetime.timedelta(seconds=settings.session_idle_timeout)
        self._touch_every = min(
            datetime.timedelta(seconds=settings.session_touch_interval),
            self._idle_timeout / TOUCH_FRACTION_OF_IDLE_TIMEOUT,
        )

    @property
    def session_idle_timeout(self) -> float:
        """Seconds an unused session lives: its cookie need not outlive it."""
        return self._idle_timeout.total_seconds()

    async def register(self, username: str, password: str, address: str | None = None) -> User:
        """Create an account from already validated fields; UsernameTaken if the name is taken.
        Rate-limited per ``address``."""
        if address is not None:
            self._limits.charge("register", address)
        if await self._store.credentials(username):
            raise UsernameTaken(username)
        return await self._store.create_user(username, await self._hasher.hash(password))

    async def authenticate(self, username: str, password: str, address: str) -> User:
        """Check credentials, throttled per username and per address."""
        name = username.lower()
        # Someone guessing a victim's password must not lock the victim out for long: from
        # an address that has not failed, the account's pause ends after a short cap.
        clean = not await self._address_throttle.has_failed(address)
        cap = self._settings.login_clean_address_delay if clean else None
        wait = max(await self._user_throttle.retry_after(name, cap), await self._address_throttle.retry_after(address))
        if wait:
            raise TooManyAttempts(wait)
        found = await self._store.credentials(username) if USERNAME_RE.match(username) else None
        verified = await self._hasher.check(password, found[1] if found else None)
        if found is None or not verified:
            await self._user_throttle.failed(name)
            await self._address_throttle.failed(address)
            raise BadCredentials()
        await self._user_throttle.succeeded(name)
        return found[0]

    async def password_matches(self, user: User, password: str) -> bool:
        """Whether ``password`` is the user's (asked again before something that cannot be undone)."""
        found = await self._store.credentials(user.username)
        return await self._hasher.check(password, found[1] if found and found[0].id == user.id else None)

    async def open_session(self, user: User) -> str:
        """A new session for ``user``; the token is both the cookie's value and the Bearer token."""
        token = new_token()
        await self._store.create_session(user.id, token_hash(token))
        return token

    async def session_user(self, token: str, cached: bool = False) -> User | None:
        """Whose session ``token`` is. ``cached``: for the long poll, which may use the
        session cache (see auth.SessionCache); everything else asks MySQL."""
        hashed = token_hash(token)
        user = self._sessions.get(hashed) if cached else None
        if user is not None:
            return user
        now = utcnow()
        found = await self._store.session_user(hashed, now - self._idle_timeout)
        if found is None:
            return None
        user, last_used = found
        if now - last_used >= self._touch_every:
            await self._store.touch_session(hashed, now)
            last_used = now
        if cached:
            self._sessions.put(hashed, user, (self._idle_timeout - (now - last_used)).total_seconds())
        return user

    async def delete_idle_sessions(self) -> None:
        """Drop the rows of sessions past their idle timeout (they are refused anyway)."""
        await self._store.delete_idle_sessions(utcnow() - self._idle_timeout)

    async def revoke_session(self, token: str) -> None:
        hashed = token_hash(token)
        await self._store.delete_session(hashed)
        self._notifier.session_revoked(hashed)
