"""The events stream of one user: what is new since a cursor, and the long poll.

A process that cannot replay the ephemeral log (another epoch) sends a presence
snapshot only where the cursor's digest says the list differs, so a poll that moves
between processes still waits for news. Everything a poll returns is computed from
the cursor and committed state, so replaying a cursor returns the same messages
again and a cursor is good on any process and after a restart.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Iterable

from .. import wire
from ..models import Group, LogEntry, Membership, User
from .channel import PresenceView
from .cursor import Cursor
from .feed import Feed
from .hub import Hub
from .waiter import Waiter

ENTRIES_PER_GROUP = 100  # per answer: a client far behind catches up over a few quick polls


class EventStream:
    """Computes a user's events since a cursor, from the hub's memory where it can."""

    def __init__(self, hub: Hub, feed: Feed, delivered: Callable[[list[LogEntry]], None]) -> None:
        self._hub = hub
        self._feed = feed
        self._delivered = delivered  # the delivery-latency histogram

    def poll(self, user: User, cursor: Cursor) -> Poll:
        return Poll(self, self._hub, user, cursor)

    async def memberships(self, user: User) -> dict[int, Membership]:
        return await self._feed.memberships(user.id)

    async def start(self, user: User) -> tuple[str, list[str]]:
        """The cursorless answer: a cursor for "now" and a presence snapshot per group."""
        memberships, last_positions = await self._feed.memberships_and_last_positions(user.id)
        await self._feed.ensure_presence(memberships)
        position, views = self._hub.position, self._views(memberships)  # together: no await between
        cursor = Cursor(
            self._hub.epoch,
            position,
            {
                gid: (m.id, max(last_positions[gid], m.start_pos), views[gid].digest, m.read_stamp)
                for gid, m in memberships.items()
            },
        )
        return cursor.encode(), [wire.presence_snapshot(gid, views[gid].users) for gid in sorted(memberships)]

    def _views(self, group_ids: Iterable[int]) -> dict[int, PresenceView]:
        return {gid: self._hub.channel(gid).presence() for gid in group_ids}

    def nothing_new(self, memberships: dict[int, Membership], cursor: Cursor) -> bool:
        """True only when memory shows for certain that ``since`` would find nothing: the
        usual re-poll, which can then park at once. Anything unsure says False."""
        if cursor.epoch != self._hub.epoch or cursor.groups.keys() != memberships.keys():
            return False
        for group_id, membership in memberships.items():
            channel = self._hub.known_channel(group_id)
            membership_id, pos, _, read = cursor.groups[group_id]
            if (
                channel is None
                or membership_id != membership.id
                or read not in (None, membership.read_stamp)
                or not channel.quiet_since(max(pos, membership.start_pos), cursor.position)
            ):
                return False
        return True

    async def since(self, user: User, memberships: dict[int, Membership], cursor: Cursor) -> tuple[Cursor, list[str]]:
        """What is new for ``user`` after ``cursor``, and the cursor that follows it."""
        if not self._feed.knows_presence(memberships):
            await self._feed.ensure_presence(memberships)
        position, views = self._hub.position, self._views(memberships)  # together: no await between
        same_epoch = cursor.epoch == self._hub.epoch
        joined = [gid for gid, m in memberships.items() if cursor.groups.get(gid, (None,))[0] != m.id]
        left = [gid for gid in cursor.groups if gid not in memberships]
        events = await self._membership_events(user, joined, left) if joined or left else []
        next_groups: dict[int, tuple[int, int, int, int | None]] = {}
        for group_id in sorted(memberships):
            membership, view = memberships[group_id], views[group_id]
            known = None if group_id in joined else cursor.groups[group_id]
            after = membership.start_pos if known is None else max(membership.start_pos, known[1])
            entries, upto = await self._feed.entries_after(group_id, after, membership, ENTRIES_PER_GROUP)
            events += [wire.as_seen_by(e.event, membership.role) if e.about_group else e.event for e in entries]
            self._delivered(entries)
            next_groups[group_id] = (membership.id, upto, view.digest, membership.read_stamp)
            if known is not None and known[3] not in (None, membership.read_stamp):
                # after the group's entries, with counts as of the last of them: a client that
                # counted those entries itself then takes these counts as they stand
                if (read := await self._feed.read_state(user.id, membership, upto)) is not None:
                    events.append(wire.read_event(read))
            logged = None
            if known is not None and same_epoch:
                logged = self._hub.channel(group_id).ephemeral_events(user.id, cursor.position, position)
            if logged is not None:
                events += logged
            elif known is None or known[2] != view.digest:
                events.append(wire.presence_snapshot(group_id, view.users))
        return Cursor(self._hub.epoch, position, next_groups), events

    async def _membership_events(self, user: User, joined: list[int], left: list[int]) -> list[str]:
        """Left groups first, then joined ones, for the groups that still exist. A joined group's
        counts are as of the join: every message the member may see follows the event (from the
        join's log position), and a client counts those itself."""
        groups = await self._feed.groups(user.id, joined + left)
        return [wire.membership_event(groups[gid], False) for gid in left if gid in groups] + [
            wire.membership_event(as_of_the_join(groups[gid]), True) for gid in joined if gid in groups
        ]


def as_of_the_join(group: Group) -> Group:
    """The group with nothing unread yet: its messages come after the event that brings it."""
    if group.read is None:
        return group
    return dataclasses.replace(group, read=dataclasses.replace(group.read, unread=0, unread_mentions=0))


class Poll:
    """One events request with a cursor: collect, else park until news or the timeout."""

    def __init__(self, stream: EventStream, hub: Hub, user: User, cursor: Cursor) -> None:
        self._stream = stream
        self._hub = hub
        self._user = user
        self._cursor = cursor
        self._waiter: Waiter | None = None
        self.cancelled = False

    async def run(self, timeout: float) -> tuple[Cursor, list[str]] | None:
        """The events and the next cursor; None when the client went away first."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        memberships: dict[int, Membership] | None = None
        try:
            while not self.cancelled:
                if self._hub.closing:
                    return self._cursor, []  # the client polls again with it, elsewhere or after the restart
                if memberships is None:
                    memberships = await self._read_memberships()
                    continue  # the client may have left while we read
                waiter = self._arm(memberships)
                events: list[str] = []
                if not self._stream.nothing_new(memberships, self._cursor) or deadline <= loop.time():
                    self._cursor, events = await self._stream.since(self._user, memberships, self._cursor)
                remaining = deadline - loop.time()
                if events or remaining <= 0 or self.cancelled:
                    return None if self.cancelled else (self._cursor, events)
                await waiter.wait(remaining)
                if waiter.membership_changed:
                    memberships = None
                    self._release()
        finally:
            self._release()
        return None

    async def _read_memberships(self) -> dict[int, Membership] | None:
        """The user's memberships; None when they changed while we read, before our waiter could hear it."""
        version = self._hub.membership_version
        memberships = await self._stream.memberships(self._user)
        return memberships if self._hub.membership_version == version else None

    def _arm(self, memberships: dict[int, Membership]) -> Waiter:
        """Park a waiter before reading (so no wake-up falls in between), or re-arm ours:
        still registered, what comes from here on wakes it again."""
        if self._waiter is None:
            self._waiter = self._hub.park(self._user.id, memberships)
        else:
            self._waiter.rearm()
        return self._waiter

    def _release(self) -> None:
        if self._waiter is not None:
            self._hub.discard(self._waiter)
            self._waiter = None

    def cancel(self) -> None:
        """The client went away: free the waiter now, whatever the request is awaiting."""
        self.cancelled = True
        if self._waiter is not None:
            self._hub.discard(self._waiter)
