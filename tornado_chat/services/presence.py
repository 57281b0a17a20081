"""Who is online: marked in memory, written to MySQL in batches, expired by a sweep.

A user is online while an events request of theirs is open or was made within
``presence_timeout`` seconds. MySQL is the truth (the ``presence`` table); this
process only batches its own writes. A change is published only after the
write that makes it true has committed, so that a snapshot read from MySQL
plus the changes published after it always add up to the exact list.

Changes are coalesced per group: the first goes out at once, later ones at
most once every ``presence_change_interval`` seconds, so a crowd of a thousand
arriving together costs a couple of wake-ups per group, not a thousand.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import time

from tornado.ioloop import PeriodicCallback

from ..config import Settings
from ..models import User, as_utc, online_since
from ..realtime.notifier import Notifier
from ..store import Store
from ..store.database import DatabaseUnavailable

log = logging.getLogger(__name__)

# Arrivals are written together: a crowd reconnecting at once costs one statement, and a lone
# arrival is announced 50 ms late, which nobody sees.
ARRIVAL_BATCH_DELAY = 0.05
MS_PER_SECOND = 1000


class Presence:
    def __init__(self, store: Store, notifier: Notifier, settings: Settings) -> None:
        self._store = store
        self._notifier = notifier
        self._timeout = settings.presence_timeout
        self._change_interval = settings.presence_change_interval
        self._open_polls: dict[int, int] = {}
        self._users: dict[int, User] = {}
        self._unwritten: dict[int, float] = {}  # user -> time.time() last seen, not yet written
        self._written: set[int] = set()
        self._unannounced: set[int] = set()  # arrivals written but not yet announced (the database went away)
        self._arrival_flush: asyncio.TimerHandle | None = None
        self._flushing: asyncio.Lock = asyncio.Lock()
        self._changes: dict[int, dict[int, tuple[User, bool]]] = {}
        self._last_emit: dict[int, float] = {}
        self._emit_timers: dict[int, asyncio.TimerHandle] = {}
        self._periodic = [
            PeriodicCallback(self._refresh, settings.presence_refresh_interval * MS_PER_SECOND),
            PeriodicCallback(self.sweep, settings.presence_sweep_interval * MS_PER_SECOND),
        ]

    def start(self) -> None:
        for callback in self._periodic:
            callback.start()

    async def stop(self) -> None:
        """Stop the timers and write what is still unwritten."""
        for callback in self._periodic:
            callback.stop()
        for timer in [self._arrival_flush, *self._emit_timers.values()]:
            if timer is not None:
                timer.cancel()
        await self.flush()

    def online_since(self) -> datetime.datetime:
        return online_since(self._timeout)

    # Events requests

    def poll_started(self, user: User) -> None:
        self._open_polls[user.id] = self._open_polls.get(user.id, 0) + 1
        self._users[user.id] = user
        self._unwritten[user.id] = time.time()
        if user.id not in self._written and self._arrival_flush is None:
            loop = asyncio.get_running_loop()
            self._arrival_flush = loop.call_later(ARRIVAL_BATCH_DELAY, lambda: loop.create_task(self.flush()))

    def poll_ended(self, user: User) -> None:
        remaining = self._open_polls.get(user.id, 0) - 1
        if remaining > 0:
            self._open_polls[user.id] = remaining
        else:
            self._open_polls.pop(user.id, None)
        self._unwritten[user.id] = time.time()

    def seen_here(self, user_ids: set[int]) -> set[int]:
        """Those of ``user_ids`` online by what this process knows and may not have written
        yet: an events request open here, or one made here within the timeout."""
        cutoff = time.time() - self._timeout
        return {uid for uid in user_ids if uid in self._open_polls or self._unwritten.get(uid, 0.0) > cutoff}

    @property
    def open_polls(self) -> int:
        return sum(self._open_polls.values())

    # Batched writes and the expiry sweep

    async def _refresh(self) -> None:
        """Users with an open poll stay online: their last-seen is rewritten well within the timeout."""
        now = time.time()
        for user_id in self._open_polls:
            self._unwritten[user_id] = now
        await self.flush()

    async def flush(self) -> None:
        """Write every pending last-seen time in one statement, then announce the arrivals."""
        self._arrival_flush = None
        async with self._flushing:
            batch, self._unwritten = self._unwritten, {}
            if batch:
                try:
                    arrived = await self._store.presence.mark_present(
                        {user_id: as_utc(seen) for user_id, seen in batch.items()}, self.online_since()
                    )
                except Exception as exc:
                    if not isinstance(exc, DatabaseUnavailable):  # an outage is logged once, by storage
                        log.exception("writing presence of %d users", len(batch))
                    for user_id, seen in batch.items():
                        self._unwritten.setdefault(user_id, seen)
                    return
                self._written.update(batch)
                self._unannounced |= arrived
            owed, self._unannounced = self._unannounced, set()
            try:
                await self._announce({uid: self._users[uid] for uid in owed if uid in self._users}, came=True)
            except DatabaseUnavailable:
                self._unannounced |= owed  # written, so no longer "arriving": owed until a flush gets through

    async def sweep(self) -> None:
        """Write what is pending, then expire whoever has been silent past the timeout
        (in every process's name: the row lock lets one process announce each user)."""
        await self.flush()
        try:
            gone = await self._store.presence.expire(self.online_since())
            self._written -= gone
            self._unannounced -= gone
            await self._announce(await self._store.accounts.users(gone), came=False)
        except DatabaseUnavailable:
            pass  # logged once by storage; the next sweep expires them
        except Exception:
            log.exception("expiring presence")
        self._forget_idle()

    def _forget_idle(self) -> None:
        """Bound memory: drop users and groups this process no longer has news of."""
        keep = self._open_polls.keys() | self._unwritten.keys() | self._written
        for user_id in [uid for uid in self._users if uid not in keep]:
            del self._users[user_id]
        cutoff = time.monotonic() - self._change_interval
        for group_id in [g for g, t in self._last_emit.items() if t < cutoff and g not in self._emit_timers]:
            del self._last_emit[group_id]

    async def _announce(self, users: dict[int, User], came: bool) -> None:
        if not users:
            return
        for user_id, group_ids in (await self._store.groups.groups_of(users)).items():
            for group_id in group_ids:
                self.changed(group_id, users[user_id], came)

    # Changes, coalesced per group

    async def membership_changed(self, user: User, group_id: int, joined: bool) -> None:
        """Someone online who joins or leaves a group comes to or goes from its list."""
        if user.id in self._open_polls or await self._store.presence.is_online(user.id, self.online_since()):
            self.changed(group_id, user, came=joined)

    def changed(self, group_id: int, user: User, came: bool) -> None:
        """Note a change; the group's next presence event carries it (the latest word per user wins)."""
        self._changes.setdefault(group_id, {})[user.id] = (user, came)
        if group_id in self._emit_timers:
            return
        delay = self._last_emit.get(group_id, -1e9) + self._change_interval - time.monotonic()
        loop = asyncio.get_running_loop()
        self._emit_timers[group_id] = loop.call_later(max(0.0, delay), self._emit, group_id)

    def _emit(self, group_id: int) -> None:
        self._emit_timers.pop(group_id, None)
        changes = self._changes.pop(group_id, {})
        if not changes:
            return
        self._last_emit[group_id] = time.monotonic()
        self._notifier.presence_changed(
            group_id,
            came=[user for user, came in changes.values() if came],
            went=[user for user, came in changes.values() if not came],
        )
