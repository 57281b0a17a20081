"""What the hub's memory lacks, read from the database: the one place where the
real-time side reads storage.

It loads a channel's newest log entries once (concurrent pollers share the read),
reads past memory for a client far behind, fills a gap left by a lost or late
publication, catches every loaded channel up from MySQL (``resync``), loads online
lists, and keeps each polling user's memberships so that a re-poll costs no query
(dropped by any change of them, which reaches every process through the notifier).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Iterable

from ..models import Group, LogEntry, Membership, ReadState, online_since
from ..store import Store
from ..store.database import DatabaseUnavailable
from .channel import RECENT_ENTRIES, Channel
from .hub import Hub

log = logging.getLogger(__name__)

GAP_FILL_DELAY = 0.25  # a later log position came first: the missing one is usually a publication still on its way
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

    async def memberships_and_last_positions(self, user_id: int) -> tuple[dict[int, Membership], dict[int, int]]:
        """Uncached, for a cursorless start: where each group stands now."""
        return await self._store.groups.memberships(user_id)

    async def groups(self, viewer_id: int, group_ids: list[int]) -> dict[int, Group]:
        """The groups as the viewer sees them, those they just left (or were removed from) included."""
        since = online_since(self._presence_timeout)
        found = await self._store.groups.groups(viewer_id, since, group_ids, visible_only=False)
        return {g.id: g for g in found}

    def memberships_changed(self, user_id: int | None) -> None:
        if user_id is None:
            self._memberships.clear()
        else:
            self._memberships.pop(user_id, None)

    def read_moved(self, user_id: int, group_id: int, last_read_seq: int | None, notify: str | None) -> None:
        """Bring the cached membership's read state up to date in place, so that the user's polls,
        which hold the same mapping, see it when woken without reading the database."""
        cached = self._memberships.get(user_id)
        membership = None if cached is None else cached[0].get(group_id)
        if membership is None:
            return
        read = membership.last_read_seq if last_read_seq is None else max(last_read_seq, membership.last_read_seq)
        cached[0][group_id] = dataclasses.replace(
            membership, last_read_seq=read, notify=membership.notify if notify is None else notify
        )

    async def read_state(self, user_id: int, membership: Membership, upto_pos: int) -> ReadState | None:
        """The user's read state of a group as of log position ``upto_pos``: from memory when it is
        certain that nothing is unread (read up to the newest message this process knows of),
        else from the database."""
        channel = self._hub.known_channel(membership.group_id)
        if channel is not None and channel.last_seq is not None and membership.last_read_seq >= channel.last_seq:
            return ReadState(membership.group_id, membership.last_read_seq, 0, 0, membership.notify)
        return await self._store.read.state(user_id, membership.group_id, upto_pos)

    # The log

    async def entries_after(
        self, group_id: int, pos: int, membership: Membership, limit: int
    ) -> tuple[list[LogEntry], int]:
        """Up to ``limit`` entries after ``pos`` that the member may see (about the group, or about
        messages after their join), from memory when it reaches; and the position read up to, which
        moves past entries the member may not see, so that a cursor moves on over them."""
        channel = self._hub.channel(group_id)
        if channel.last_pos is None:
            await self._ensure_loaded(channel)
        found = channel.recent_after(pos)
        if found is None or channel.last_pos is None:
            # Read the group's position first: an entry committed after it may be read too,
            # but none before it can be missed (positions are taken and committed in order).
            last = await self._store.groups.last_pos(group_id)
            read = await self._store.log.after(group_id, pos, membership.start_seq, limit)
            upto = read[-1].pos if len(read) == limit else max([last, *(e.pos for e in read)])
            return read, max(pos, upto)
        visible = [e for e in found if e.seq > membership.start_seq or e.about_group]
        if len(visible) > limit:
            return visible[:limit], visible[limit - 1].pos
        return visible, max(pos, channel.last_pos)

    async def _ensure_loaded(self, channel: Channel) -> None:
        """Read the group's newest messages once; concurrent callers share the read.
        A failed read leaves the channel unloaded, and callers fall back to the database."""
        if channel.last_pos is not None:
            return
        if (loading := self._loads.get(channel.group_id)) is not None:
            await asyncio.shield(loading)
            return
        self._loads[channel.group_id] = asyncio.get_running_loop().create_future()
        channel.loading = True
        try:
            # The newest seq first: a message stored after it is among the entries read next.
            last_seq = await self._store.groups.last_seq(channel.group_id)
            newest = await self._store.log.newest(channel.group_id, RECENT_ENTRIES)
            last_pos = newest[-1].pos if newest else await self._store.groups.last_pos(channel.group_id)
            channel.loaded(newest, last_pos, last_seq)
        finally:
            channel.loading = False
            self._loads.pop(channel.group_id).set_result(None)
        if channel.pending:
            self.gap_found(channel)

    def gap_found(self, channel: Channel) -> None:
        """A later entry arrived first: give the missing one a moment, then read it."""
        if channel.group_id not in self._gap_fills:
            loop = asyncio.get_running_loop()
            self._gap_fills[channel.group_id] = loop.call_later(
                GAP_FILL_DELAY, lambda: loop.create_task(self._fill_gap(channel))
            )

    async def _fill_gap(self, channel: Channel) -> None:
        self._gap_fills.pop(channel.group_id, None)
        if not channel.pending or channel.last_pos is None:
            return
        missing = min(channel.pending) - channel.last_pos - 1
        try:
            found = await self._store.log.after(channel.group_id, channel.last_pos, 0, missing)
        except Exception as exc:
            if not isinstance(exc, DatabaseUnavailable):  # an outage is logged once, by storage
                log.exception("filling a seq gap of group %s", channel.group_id)
            self.gap_found(channel)
            return
        advanced = False
        for entry in found:
            advanced = channel.add(entry) or advanced
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
        for group_id, pos in (await self._store.groups.last_positions(loaded)).items():
            channel = loaded[group_id]
            behind = pos - (channel.last_pos or 0)
            if channel.last_pos is None or behind <= 0:
                continue
            if behind > RECENT_ENTRIES:  # too far behind to keep consecutive: pollers read MySQL
                channel.skip_to(pos)
            else:
                for entry in await self._store.log.after(group_id, channel.last_pos, 0, behind):
                    channel.add(entry)
            self._hub.wake(channel)

    # Who is online

    def knows_presence(self, group_ids: Iterable[int]) -> bool:
        """Whether this process knows every one of these groups' online lists (then
        ``ensure_presence`` has nothing to do: a woken poll's usual case, without an await)."""
        return all(self._hub.channel(gid).knows_presence for gid in group_ids)

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
