"""The seam through which committed changes reach the hub of every process.

The service hands a change to the notifier only once its transaction has committed.
In one process ``LocalNotifier`` passes it straight to the hub; across processes
``redis_notifier.RedisNotifier`` also publishes it to the others.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from ..auth import SessionCache
from ..models import LogEntry, User
from .hub import Hub


class Notifier(Protocol):
    def logged(self, entry: LogEntry) -> None: ...

    def typing(self, group_id: int, user: User) -> None: ...

    def presence_changed(self, group_id: int, came: Iterable[User], went: Iterable[User]) -> None: ...

    def membership_changed(self, user: User, group_id: int, joined: bool | None) -> None: ...

    def read_moved(self, user_id: int, group_id: int, last_read_seq: int | None, notify: str | None) -> None: ...

    def session_revoked(self, token_hash: str) -> None: ...


class LocalNotifier:
    """The one-process notifier: hands every change straight to this process's hub."""

    def __init__(self, hub: Hub, sessions: SessionCache) -> None:
        self._hub = hub
        self._sessions = sessions

    def logged(self, entry: LogEntry) -> None:
        self._hub.logged(entry)

    def typing(self, group_id: int, user: User) -> None:
        self._hub.typing(group_id, user)

    def presence_changed(self, group_id: int, came: Iterable[User], went: Iterable[User]) -> None:
        self._hub.presence_changed(group_id, came, went)

    def membership_changed(self, user: User, group_id: int, joined: bool | None) -> None:
        self._hub.membership_changed(user, group_id, joined)

    def read_moved(self, user_id: int, group_id: int, last_read_seq: int | None, notify: str | None) -> None:
        self._hub.read_moved(user_id, group_id, last_read_seq, notify)

    def session_revoked(self, token_hash: str) -> None:
        self._sessions.forget(token_hash)
