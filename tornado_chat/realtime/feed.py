"""What the hub's memory lacks, read from the database: the one place where the
real-time side reads storage.

It loads a channel's newest messages once (concurrent pollers share the read),
reads past memory for a client far behind, fills a seq gap left by a lost or late
publication, catches every loaded channel up from MySQL (``resync``), loads online
lists, and keeps each polling user's memberships so that a re-poll costs no query
(dropped by any change of them, which reaches every process through the notifier).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable

from ..models import Group, Membership, online_since
from ..store import Store
from ..store.database import DatabaseUnavailable
from ..validation import MAX_ID
from .channel import RECENT_MESSAGES, Channel, StoredMessage
from .hub import Hub

log = logging.getLogger(__name__)

GAP_FILL_DELAY = 0.25  # a later seq came first: the missing one is usually a publication still on its way
MEMBERSHIP_TTL = 30.0  # a bound on a cached membership's staleness while Redis (and its invalidations) is away


class Feed:
    def __init__(self, hub: Hub, store: Store, presence_timeout: float) -> None:
        self._hub = hub
        self._store = store
        self._presence_timeout = presence_timeout
        self._loads: dict[int, asyncio.Future[None]] = {}
        self._gap_fills: dict[int, asyncio.TimerHandle] = {}
        self._memberships: dict[int, tuple[dict[int, Membership], float]] = {}
        hub.listen(self)

    # Memberships and groups

    async def memberships(self, user_id: int) -> dict[int, Membership]:
        """The user's memberships, from the cache while it is fresh."""
        cached = self._memberships.get(user_id)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        found, _ = await self._store.groups.memberships(user_id)
        self._memberships[user_id] = (found, time.monotonic() + MEMBERSHIP_TTL)
        return found

    async def memberships_and_last_seqs(self, user_id: int) -> tuple[dict[int, Membership], dict[int, int]]:
        """Uncached, for a cursorless start: where each group stands now."""
        return await self._store.groups.memberships(user_id)

    async def groups(self, viewer_id: int, group_ids: list[int]) -> dict[int, Group]:
        found = await self._store.groups.groups(viewer_id, online_since(self._presence_timeout), group_ids)
        return {g.id: g for g in found}

    def memberships_changed(self, user_id: int | None) -> None:
        if user_id is None:
            self._memberships.clear()
        else:
            self._memberships.pop(user_id, None)

    # Messages

    async def messages_after(self, group_id: int, seq: int, limit: int) -> list[StoredMessage]:
        """Up to ``limit`` committed messages of a group after ``seq``, from memory when it reaches."""
        channel = self._hub.channel(group_id)
        await self._ensure_loaded(channel)
        found = channel.recent_after(seq)
        if found is None:
            return [StoredMessage.of(m) for m in await self._store.messages.after(group_id, seq, limit)]
        return found[:limit]

    async def _ensure_loaded(self, channel: Channel) -> None:
        """Read the group's newest messages once; concurrent callers share the read.
        A failed read leaves the channel unloaded, and callers fall back to the database."""
        if channel.last_seq is not None:
            return
        if (loading := self._loads.get(channel.group_id)) is not None:
            await asyncio.shield(loading)
            return
        self._loads[channel.group_id] = asyncio.get_running_loop().create_future()
        channel.loading = True
        try:
            messages = self._store.messages
            newest = await messages.before(channel.group_id, MAX_ID, 0, RECENT_MESSAGES)
            last_seq = newest[-1].seq if newest else await self._store.groups.last_seq(channel.group_id)
            channel.loaded([StoredMessage.of(m) for m in newest], last_seq)
        finally:
            channel.loading = False
            self._loads.pop(channel.group_id).set_result(None)
        if channel.pending:
            self.gap_found(channel)

    def gap_found(self, channel: Channel) -> None:
        """A later seq arrived first: give the missing one a moment, then read it."""
        if channel.group_id not in self._gap_fills:
            loop = asyncio.get_running_loop()
            self._gap_fills[channel.group_id] = loop.call_later(
                GAP_FILL_DELAY, lambda: loop.create_task(self._fill_gap(channel))
            )

    async def _fill_gap(self, channel: Channel) -> None:
        self._gap_fills.pop(channel.group_id, None)
        if not channel.pending or channel.last_seq is None:
            return
        missing = min(channel.pending) - channel.last_seq - 1
        try:
            found = await self._store.messages.after(channel.group_id, channel.last_seq, missing)
        except Exception as exc:
            if not isinstance(exc, DatabaseUnavailable):  # an outage is logged once, by storage
                log.exception("filling a seq gap of group %s", channel.group_id)
            self.gap_found(channel)
            return
        advanced = False
        for message in found:
            advanced = channel.add(StoredMessage.of(message)) or advanced
        if advanced:
            self._hub.wake(channel)
        if channel.pending:
            self.gap_found(channel)

    async def resync(self) -> None:
        """Catch up from MySQL: whatever was committed but not heard (Redis down, a
        publication lost) reaches the waiters. One query when nothing is missing."""
        loaded = self._hub.loaded_channels()
        if not loaded:
            return
        for group_id, seq in (await self._store.groups.last_seqs(loaded)).items():
            channel = loaded[group_id]
            behind = seq - (channel.last_seq or 0)
            if channel.last_seq is None or behind <= 0:
                continue
            if behind > RECENT_MESSAGES:  # too far behind to keep consecutive: pollers read MySQL
                channel.skip_to(seq)
            else:
                for message in await self._store.messages.after(group_id, channel.last_seq, behind):
                    channel.add(StoredMessage.of(message))
            self._hub.wake(channel)

    # Who is online

    async def ensure_presence(self, group_ids: Iterable[int]) -> None:
        """Load the online lists this process does not know yet, in one query."""
        missing = [gid for gid in group_ids if not self._hub.channel(gid).knows_presence]
        if not missing:
            return
        before = self._hub.position
        found = await self._store.presence.online_members(missing, online_since(self._presence_timeout))
        for group_id in missing:
            channel = self._hub.channel(group_id)
            if not channel.knows_presence:
                channel.load_presence(found[group_id], before)

    def collect_garbage(self) -> None:
        """Drop expired memberships (the hub drops its idle channels itself)."""
        now = time.monotonic()
        for user_id in [u for u, (_, expires) in self._memberships.items() if expires < now]:
            del self._memberships[user_id]
