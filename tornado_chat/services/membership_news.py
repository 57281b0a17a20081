"""Telling of a membership that began, ended or changed, and of a group's logged changes.

A membership is not an entry of a group's log: each process's hub hears of it through the
notifier, and every poll of that user compares its cursor's memberships with the stored
ones, so a join, an addition or a removal reaches every one of their polls, on any process,
as a ``membership`` event. The group's other members hear of it as a ``member`` event, and
an online user comes to (or goes from) the group's online list.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..models import LogEntry, User
from ..realtime.notifier import Notifier
from .presence import Presence


class MembershipNews:
    def __init__(self, notifier: Notifier, presence: Presence) -> None:
        self._notifier = notifier
        self._presence = presence

    async def changed(self, user: User, group_id: int, joined: bool | None) -> None:
        """``joined``: True for a new membership, False for an ended one, None for one changed
        in place (its role), which only makes the user's polls read their memberships again."""
        self._notifier.membership_changed(user, group_id, joined)
        if joined is not None:
            await self._presence.membership_changed(user, group_id, joined)

    def logged(self, entries: Iterable[LogEntry]) -> None:
        """Committed entries about a group (its details, a role) go to every process's hub."""
        for entry in entries:
            self._notifier.logged(entry)
