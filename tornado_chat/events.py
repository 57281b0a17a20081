"""The events stream of one user: cursors, and what is new since a cursor.

A cursor records, for each group the client knows it is in, the membership
it knew (``membership id``), the last ``seq`` it received and a digest of the
online list it holds, plus where it stood in this process's ephemeral log
(``epoch``, ``position``). A process that cannot replay the log (another
epoch) sends a presence snapshot only where the digest says the list differs,
so a poll that moves between processes still waits for news. Everything
a poll returns is computed from the cursor and committed state, so replaying
a cursor returns the same messages again and a cursor is good on any process
and after a restart. It is opaque to clients: base64url of compact JSON.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
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


class InvalidCursor(ValueError):
    pass


@dataclass(frozen=True)
class Cursor:
    epoch: str
    position: int
    groups: dict[int, tuple[int, int, int]] = field(default_factory=dict)  # group -> (membership id, seq, digest)

    def encode(self) -> str:
        body = [1, self.epoch, self.position, [[g, *entry] for g, entry in sorted(self.groups.items())]]
        return base64.urlsafe_b64encode(json.dumps(body, separators=(",", ":")).encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        if not text or len(text) > MAX_CURSOR_CHARS:
            raise InvalidCursor("cursor is empty or too long")
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            version, epoch, position, groups = json.loads(raw)
            if version != 1 or not isinstance(epoch, str) or len(epoch) > 32 or not _is_id(position, zero=True):
                raise ValueError("bad header")
            entries: dict[int, tuple[int, int, int]] = {}
            for group_id, membership_id, seq, digest in groups:
                if not (_is_id(group_id) and _is_id(membership_id) and _is_id(seq, zero=True)):
                    raise ValueError("bad entry")
                if not (type(digest) is int and 0 <= digest < 2**32):
                    raise ValueError("bad digest")
                entries[group_id] = (membership_id, seq, digest)
        except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
            raise InvalidCursor("malformed cursor") from exc
        return cls(epoch, position, entries)


def _is_id(value: Any, zero: bool = False) -> bool:
    return type(value) is int and (0 if zero else 1) <= value <= MAX_ID


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
                logged = self._hub.channel(group_id).ephemeral_between(cursor.position, position)
            if logged is not None:
                events += self._ephemeral_events(user, group_id, logged)
            elif known is None or known[2] != view.digest:
                events.append(presence_snapshot(group_id, view))
        return Cursor(self._hub.epoch, position, next_groups), events

    @staticmethod
    def _ephemeral_events(user: User, group_id: int, logged: list[Typing | PresenceChange]) -> list[str]:
        events = [
            _event({"type": "typing", "group_id": group_id, "user": item.user.to_json()})
            for item in logged
            if isinstance(item, Typing) and item.user.id != user.id
        ]
        changes = [item for item in logged if isinstance(item, PresenceChange)]
        if changes:
            came, went = merged_presence(changes)
            events.append(
                _event({"type": "presence", "group_id": group_id, "came": _users(came), "went": _users(went)})
            )
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
        while not self.cancelled:
            if self._hub.closing:
                return self._cursor, []  # the client polls again with it, elsewhere or after the restart
            if memberships is None:
                version = self._hub.membership_version
                memberships = await self._stream.memberships(self._user)
                if self._hub.membership_version != version:
                    memberships = None  # changed while we read, before our waiter could hear it
                continue  # the client may have left while we read
            self._waiter = self._hub.park(self._user.id, memberships)
            try:
                self._cursor, events = await self._stream.since(self._user, memberships, self._cursor)
                remaining = deadline - loop.time()
                if events or remaining <= 0 or self.cancelled:
                    return None if self.cancelled else (self._cursor, events)
                await self._waiter.wait(remaining)
                if self._waiter.membership_changed:
                    memberships = None
            finally:
                self._hub.discard(self._waiter)
                self._waiter = None
        return None

    def cancel(self) -> None:
        """The client went away: free the waiter now, whatever the request is awaiting."""
        self.cancelled = True
        if self._waiter is not None:
            self._hub.discard(self._waiter)
