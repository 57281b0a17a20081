"""Changes to a message: edit, delete, react. Each commits in storage with its log entry,
then goes to the notifier, like a new message; a change that changes nothing is not told."""

from __future__ import annotations

from ..mentions import mentioned_names
from ..models import Message, User
from ..realtime.notifier import Notifier
from ..store.changes import Changed, ChangeStore


class Changes:
    def __init__(self, store: ChangeStore, notifier: Notifier) -> None:
        self._store = store
        self._notifier = notifier

    async def edit(self, user: User, group_id: int, seq: int, text: str) -> Message:
        return self._told(await self._store.edit(group_id, seq, user, text, tuple(mentioned_names(text))))

    async def delete(self, user: User, group_id: int, seq: int, closing: bool = False) -> None:
        """``closing``: the author's account closes (``ChangeStore.delete``)."""
        self._told(await self._store.delete(group_id, seq, user, closing))

    async def react(self, user: User, group_id: int, seq: int, emoji: str, add: bool) -> Message:
        return self._told(await self._store.react(group_id, seq, user, emoji, add))

    def _told(self, changed: Changed) -> Message:
        if changed.entry is not None:
            self._notifier.logged(changed.entry)
        return changed.message
