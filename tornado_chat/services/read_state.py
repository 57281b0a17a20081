"""Read state: marking a group read (batched), and notification levels.

A mark is not written at once: marks gather for ``MARK_BATCH_DELAY`` and go to MySQL in one
transaction of three statements, however many members and groups they cover, so a crowd
scrolling costs a few statements a second, not one per member or per message. Each request
answers once its batch is written. A mark that moved is then told to the user's polls on
every process (``read`` events), so every device shows the same counts.
"""

from __future__ import annotations

import asyncio

from ..models import Group, User
from ..realtime.notifier import Notifier
from ..store.groups import GroupStore
from ..store.read_state import ReadStore
from .groups import Groups

MARK_BATCH_DELAY = 0.1  # seconds a mark waits for others: a person does not notice, a crowd shares a write
MAX_BATCH = 500  # marks written at once; a bigger crowd is written in several batches


class ReadMarks:
    def __init__(self, store: ReadStore, group_store: GroupStore, groups: Groups, notifier: Notifier) -> None:
        self._store = store
        self._group_store = group_store
        self._groups = groups
        self._notifier = notifier
        self._pending: dict[tuple[int, int], int] = {}
        self._written: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._flushing: asyncio.Task[None] | None = None  # kept: the loop holds only a weak reference

    async def mark(self, user: User, group_id: int, seq: int) -> Group:
        """The user has read the group up to ``seq`` (forward only, clamped to the newest message)."""
        await self._group_store.membership(group_id, user.id)
        key = (user.id, group_id)
        self._pending[key] = max(seq, self._pending.get(key, 0))
        await self._batch_written()
        return await self._groups.group(user, group_id)

    async def set_notify(self, user: User, group_id: int, level: str) -> Group:
        await self._group_store.membership(group_id, user.id)
        if await self._store.set_notify(group_id, user.id, level):
            self._notifier.read_moved(user.id, group_id, None, level)
        return await self._groups.group(user, group_id)

    def _batch_written(self) -> asyncio.Future[None]:
        if self._written is None:
            loop = asyncio.get_running_loop()
            self._written = loop.create_future()
            self._timer = loop.call_later(MARK_BATCH_DELAY, self._start_flush)
        return asyncio.shield(self._written)

    def _start_flush(self) -> None:
        self._flushing = asyncio.ensure_future(self.flush())

    async def flush(self) -> None:
        """Write the pending marks, then tell the polls of those that moved."""
        written, self._written, self._timer = self._written, None, None
        marks, self._pending = self._pending, {}
        try:
            items = list(marks.items())
            for start in range(0, len(items), MAX_BATCH):
                batch = dict(items[start : start + MAX_BATCH])
                for (user_id, group_id), seq in (await self._store.mark_read(batch)).items():
                    self._notifier.read_moved(user_id, group_id, seq, None)
        except Exception as exc:  # each waiting request answers it (503 for an outage)
            if written is not None:
                written.set_exception(exc)
            return
        if written is not None:
            written.set_result(None)

    async def stop(self) -> None:
        """Write what is pending before the process goes."""
        if self._timer is not None:
            self._timer.cancel()
            await self.flush()
        elif self._flushing is not None:
            await self._flushing
