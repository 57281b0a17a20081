"""The events stream of one user: cursors, and what is new since a cursor.

A cursor records, for each group the client knows it is in, the membership
it knew (``membership id``), the last ``seq`` it received and a digest of the
online list it holds, plus where it stood in this process's ephemeral log
(``epoch``, ``position``). A process that cannot replay the log (another
epoch) sends a presence snapshot only where the digest says the list differs,
so a poll that moves between processes still waits for news. Everything
a poll returns is computed from the cursor and committed state, so replaying
a cursor returns the same messages again and a cursor is good on any process
and after a restart. It is opaque to clients.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .hub import Hub, PresenceChange, PresenceView, Typing, Waiter
from .metrics import Metrics
from .models import Group, Membership, User
from .presence import Presence
from .storage import Storage

MESSAGES_PER_GROUP = 100
MAX_CURSOR_CHARS = 32_000
MAX_ID = 2**63 - 1
# "c1.<epoch>.<position>.<group>-<membership>-<seq>-<digest>_...": URL-safe as it stands, and
# read with split() and int(), which costs a poll far less than JSON in base64.
_ENTRY = r"[0-9]{1,19}-[0-9]{1,19}-[0-9]{1,19}-[0-9]{1,10}"
CURSOR_RE = re.compile(rf"c1\.[0-9a-f]{{1,32}}\.[0-9]{{1,19}}\.(?:{_ENTRY}(?:_{_ENTRY})*)?")


class InvalidCursor(ValueError):
    pass


@dataclass(frozen=True)
class Cursor:
    epoch: str
    position: int
    groups: dict[int, tuple[int, int, int]] = field(default_factory=dict)  # group -> (membership id, seq, digest)

    def encode(self) -> str:
        entries = "_".join(f"{g}-{m}-{s}-{d}" for g, (m, s, d) in sorted(self.groups.items()))
        return f"c1.{self.epoch}.{self.position}.{entries}"

    @classmethod
    def decode(cls, text: str) -> Cursor:
        if len(text) > MAX_CURSOR_CHARS or not CURSOR_RE.fullmatch(text):
            raise InvalidCursor("malformed cursor")
        _, epoch, position, packed = text.split(".")
        entries: dict[int, tuple[int, int, int]] = {}
        for entry in packed.split("_") if packed else ():
            group_id, membership_id, seq, digest = map(int, entry.split("-"))
            if not (group_id and membership_id and max(group_id, membership_id, seq) <= MAX_ID and digest < 2**32):
                raise InvalidCursor("malformed cursor")
            entries[group_id] = (membership_id, seq, digest)
        if int(position) > MAX_ID:
            raise InvalidCursor("malformed cursor")
        return cls(epoch, int(position), entries)


def _event(payload: dict[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False)


def _users(users: list[User] | tuple[User, ...]) -> list[dict[str, Any]]:
    return [user.to_json() for user in users]


def presence_snapshot(group_id: int, view: PresenceView) -> str:
    return _event({"type": "presence", "group_id": group_id, "online": _users(view.users)})


def membership_event(group: Group, joined: bool) -> str:
    return _event({"type": "membership", "group_id": group.id, "joined": joined, "group": group.to_json()})


def merged_presence(changes: list[PresenceChange]) -> tuple[list[User], list[User]]:
    """Several changes as one: for each user the latest word wins."""
    latest: dict[int, tuple[User, bool]] = {}
    for change in changes:
        for user in change.came:
            latest[user.id] = (user, True)
        for user in change.went:
            latest[user.id] = (user, False)
    return [u for u, came in latest.values() if came], [u for u, came in latest.values() if not came]


class EventStream:
    """Computes a user's events since a cursor, from the hub's memory where it can."""

    def __init__(self, storage: Storage, hub: Hub, presence: Presence, metrics: Metrics) -> None:
        self._storage = storage
        self._hub = hub
        self._presence = presence
        self._metrics = metrics

    def poll(self, user: User, cursor: Cursor) -> Poll:
        return Poll(self, self._hub, user, cursor)

    async def memberships(self, user: User) -> dict[int, Membership]:
        return await self._hub.memberships(user.id)

    async def start(self, user: User) -> tuple[str, list[str]]:
        """The cursorless answer: a cursor for "now" and a presence snapshot per group."""
        memberships, last_seqs = await self._storage.memberships(user.id)
        await self._hub.ensure_presence(memberships)
        position, views = self._hub.position, self._views(memberships)  # together: no await between
        cursor = Cursor(
            self._hub.epoch,
            position,
            {gid: (m.id, max(last_seqs[gid], m.start_seq), views[gid].digest) for gid, m in memberships.items()},
        )
        return cursor.encode(), [presence_snapshot(gid, views[gid]) for gid in sorted(memberships)]

    def _views(self, group_ids: Iterable[int]) -> dict[int, PresenceView]:
        return {gid: self._hub.channel(gid).presence() for gid in group_ids}

    def nothing_new(self, memberships: dict[int, Membership], cursor: Cursor) -> bool:
        """True only when memory shows for certain that ``since`` would find nothing: the
        usual re-poll, which can then park at once. Anything unsure says False."""
        hub = self._hub
        if cursor.epoch != hub.epoch or cursor.groups.keys() != memberships.keys():
            return False
        for group_id, membership in memberships.items():
            channel = hub.known_channel(group_id)
            membership_id, seq, _ = cursor.groups[group_id]
            if (
                channel is None
                or membership_id != membership.id
                or channel.last_seq is None
                or channel.online is None
                or channel.last_seq > max(seq, membership.start_seq)
                or channel.trimmed_position > cursor.position
                or (channel.ephemeral and channel.ephemeral[-1][0] > cursor.position)
            ):
                return False
        return True

    async def since(self, user: User, memberships: dict[int, Membership], cursor: Cursor) -> tuple[Cursor, list[str]]:
        """What is new for ``user`` after ``cursor``, and the cursor that follows it."""
        await self._hub.ensure_presence(memberships)
        position, views = self._hub.position, self._views(memberships)  # together: no await between
        same_epoch = cursor.epoch == self._hub.epoch
        joined = [gid for gid, m in memberships.items() if cursor.groups.get(gid, (None,))[0] != m.id]
        left = [gid for gid in cursor.groups if gid not in memberships]
        events: list[str] = []
        if joined or left:
            groups = {
                g.id: g
                for g in await self._storage.groups(user.id, self._presence.online_since(), joined + left)
            }
            events += [membership_event(groups[gid], False) for gid in left if gid in groups]
            events += [membership_event(groups[gid], True) for gid in joined if gid in groups]
        next_groups: dict[int, tuple[int, int, int]] = {}
        for group_id in sorted(memberships):
            membership, view = memberships[group_id], views[group_id]
            known = None if group_id in joined else cursor.groups[group_id]
            after = membership.start_seq if known is None else max(membership.start_seq, known[1])
            messages = await self._hub.messages_after(group_id, after, MESSAGES_PER_GROUP)
            events += [m.event_json for m in messages]
            self._metrics.delivered(messages)
            next_groups[group_id] = (membership.id, messages[-1].seq if messages else after, view.digest)
            logged = None
            if known is not None and same_epoch:
                logged = self._ephemeral_events(user, group_id, cursor.position, position)
            if logged is not None:
                events += logged
            elif known is None or known[2] != view.digest:
                events.append(presence_snapshot(group_id, view))
        return Cursor(self._hub.epoch, position, next_groups), events

    def _ephemeral_events(self, user: User, group_id: int, after: int, upto: int) -> list[str] | None:
        """Typing and presence changes logged in (after, upto]; None when the log no longer
        reaches back that far. The merged presence change is encoded once per range and
        shared by every waiter that asks for it (a crowd's arrival, once, not per waiter)."""
        channel = self._hub.channel(group_id)
        logged = channel.ephemeral_between(after, upto)
        if not logged:
            return logged
        events = [
            _event({"type": "typing", "group_id": group_id, "user": item.user.to_json()})
            for item in logged
            if isinstance(item, Typing) and item.user.id != user.id
        ]
        key = (after, upto)
        if key not in channel.encoded_changes:
            changes = [item for item in logged if isinstance(item, PresenceChange)]
            encoded = None
            if changes:
                came, went = merged_presence(changes)
                encoded = _event({"type": "presence", "group_id": group_id, "came": _users(came), "went": _users(went)})
            channel.encoded_changes[key] = encoded
        if channel.encoded_changes[key] is not None:
            events.append(channel.encoded_changes[key])
        return events


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
                    version = self._hub.membership_version
                    memberships = await self._stream.memberships(self._user)
                    if self._hub.membership_version != version:
                        memberships = None  # changed while we read, before our waiter could hear it
                    continue  # the client may have left while we read
                if self._waiter is None:
                    self._waiter = self._hub.park(self._user.id, memberships)
                else:
                    self._waiter.rearm()  # still registered: what comes from here on wakes it again
                events: list[str] = []
                if not self._stream.nothing_new(memberships, self._cursor) or deadline <= loop.time():
                    self._cursor, events = await self._stream.since(self._user, memberships, self._cursor)
                remaining = deadline - loop.time()
                if events or remaining <= 0 or self.cancelled:
                    return None if self.cancelled else (self._cursor, events)
                await self._waiter.wait(remaining)
                if self._waiter.membership_changed:
                    memberships = None
                    self._hub.discard(self._waiter)
                    self._waiter = None
        finally:
            if self._waiter is not None:
                self._hub.discard(self._waiter)
                self._waiter = None
        return None

    def cancel(self) -> None:
        """The client went away: free the waiter now, whatever the request is awaiting."""
        self.cancelled = True
        if self._waiter is not None:
            self._hub.discard(self._waiter)
