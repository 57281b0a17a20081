"""A group's live state in one process: the newest entries of its log, its ephemeral
log, its online list, and the questions the event stream asks of them.

Persistent changes (a new message, a change to one) are entries of the group's log,
addressed by their per-group ``pos`` (``models.LogEntry``, each with its event JSON
encoded once). Typing, joins and leaves, and presence changes are ephemeral: each
channel keeps a short log of them under the hub's process-wide ``position``; a cursor
older than that log gets a snapshot instead.
"""

from __future__ import annotations

import time
import zlib
from collections import deque
from dataclasses import dataclass
from itertools import islice

from .. import wire
from ..models import LogEntry, User
from .waiter import Waiter

RECENT_ENTRIES = 256  # per group: enough for any client a few minutes behind; the soak levels off here
EPHEMERAL_ENTRIES = 512
EPHEMERAL_SECONDS = 120.0  # a poll comes back within its timeout (at most 60 s); twice that covers a retry


@dataclass(frozen=True, slots=True)
class Typing:
    user: User


@dataclass(frozen=True, slots=True)
class MemberChange:
    """Someone joined or left the group: what its members who are watching see."""

    user: User
    joined: bool


@dataclass(frozen=True, slots=True)
class PresenceChange:
    came: tuple[User, ...]
    went: tuple[User, ...]


Ephemeral = Typing | MemberChange | PresenceChange


@dataclass(frozen=True, slots=True)
class PresenceView:
    """A group's online list as this process knows it, and a digest of it: a cursor
    carries the digest, so any process can tell whether the client's list is current."""

    users: tuple[User, ...]
    digest: int

    @classmethod
    def of(cls, online: dict[int, User]) -> PresenceView:
        users = tuple(sorted(online.values(), key=lambda u: (u.username.lower(), u.id)))
        return cls(users, zlib.crc32(",".join(str(u.id) for u in users).encode()))


def merged_presence(changes: list[PresenceChange]) -> tuple[list[User], list[User]]:
    """Several changes as one: for each user the latest word wins."""
    latest: dict[int, tuple[User, bool]] = {}
    for change in changes:
        for user in change.came:
            latest[user.id] = (user, True)
        for user in change.went:
            latest[user.id] = (user, False)
    return [u for u, came in latest.values() if came], [u for u, came in latest.values() if not came]


class Channel:
    """``recent`` holds consecutive log entries ending at ``last_pos`` (None: not loaded yet).
    Entries that arrive ahead of a gap, or while the channel loads, wait in ``pending``."""

    def __init__(self, group_id: int, position: int) -> None:
        self.group_id = group_id
        self.last_pos: int | None = None
        # The newest message's seq, while memory has followed every entry since it was read
        # (None: not known): a reader at or past it has nothing unread here.
        self.last_seq: int | None = None
        self.recent: deque[LogEntry] = deque(maxlen=RECENT_ENTRIES)
        self.pending: dict[int, LogEntry] = {}
        self.loading = False
        self.waiters: set[Waiter] = set()
        self.last_used = time.monotonic()
        self._ephemeral: deque[tuple[int, float, Ephemeral]] = deque()
        self._trimmed_position = position
        self._online: dict[int, User] | None = None  # loaded from MySQL once, then kept by the changes
        self._view: PresenceView | None = None
        self._merged: dict[tuple[int, int], str | None] = {}  # (after, upto) -> merged change, encoded

    # The log's entries

    def add(self, entry: LogEntry) -> bool:
        """Take a committed entry; True when it extended the consecutive run."""
        if self.last_pos is None or entry.pos <= self.last_pos:
            return False
        self.pending[entry.pos] = entry
        advanced = False
        while (following := self.pending.pop(self.last_pos + 1, None)) is not None:
            self.recent.append(following)
            self.last_pos = following.pos
            if self.last_seq is not None:
                self.last_seq = max(self.last_seq, following.seq)
            advanced = True
        return advanced

    def loaded(self, newest: list[LogEntry], last_pos: int, last_seq: int) -> None:
        """The group's newest entries read from the database (``last_seq`` read just before them);
        what arrived meanwhile follows them."""
        self.recent.extend(newest)
        self.last_pos = last_pos
        self.last_seq = max([last_seq, *(e.seq for e in newest)])
        held, self.pending = self.pending, {}
        for entry in sorted(held.values(), key=lambda e: e.pos):
            self.add(entry)

    def skip_to(self, pos: int) -> None:
        """Too far behind to stay consecutive: forget memory, pollers read the database."""
        self.recent.clear()
        self.pending.clear()
        self.last_pos = pos
        self.last_seq = None

    def recent_after(self, pos: int) -> list[LogEntry] | None:
        """Entries with a greater pos from memory; None when memory no longer reaches back."""
        if self.last_pos is None:
            return None
        if pos >= self.last_pos:
            return []
        first = self.recent[0].pos if self.recent else self.last_pos + 1
        if pos + 1 < first:
            return None
        return list(islice(self.recent, pos + 1 - first, None))

    # Who is online

    @property
    def knows_presence(self) -> bool:
        return self._online is not None

    def load_presence(self, online: list[User], since_position: int) -> None:
        """The online list read from the database; changes logged after ``since_position``
        (while the read ran) are applied again on top: the latest word wins."""
        self._online = {user.id: user for user in online}
        for position, _, item in self._ephemeral:
            if position > since_position and isinstance(item, PresenceChange):
                self._apply(item)
        self._view = None

    def forget_presence(self) -> None:
        """Changes may have been missed: the list is read again when next needed."""
        self._online = None
        self._view = None

    def presence(self) -> PresenceView:
        if self._view is None:
            self._view = PresenceView.of(self._online or {})
        return self._view

    def _apply(self, change: PresenceChange) -> None:
        if self._online is None:
            return
        for user in change.came:
            self._online[user.id] = user
        for user in change.went:
            self._online.pop(user.id, None)
        self._view = None

    # The ephemeral log

    def log(self, position: int, item: Ephemeral) -> None:
        if isinstance(item, PresenceChange):
            self._apply(item)
        self._merged.clear()
        now = time.monotonic()
        self._ephemeral.append((position, now, item))
        while self._ephemeral and (
            len(self._ephemeral) > EPHEMERAL_ENTRIES or self._ephemeral[0][1] < now - EPHEMERAL_SECONDS
        ):
            self._trimmed_position = self._ephemeral.popleft()[0]

    def ephemeral_between(self, after: int, upto: int) -> list[Ephemeral] | None:
        """Ephemeral items logged in (after, upto]; None when some were already trimmed."""
        if after < self._trimmed_position:
            return None
        if not self._ephemeral or self._ephemeral[-1][0] <= after:
            return []  # the usual case: nothing new
        return [item for position, _, item in self._ephemeral if after < position <= upto]

    def ephemeral_events(self, viewer_id: int, after: int, upto: int) -> list[str] | None:
        """Typing, joins and leaves (by others than the viewer) and the merged presence change
        logged in (after, upto], as events; None when the log no longer reaches back that far. The
        merged change is encoded once per range and shared by every poll that asks for it
        (a crowd's arrival, once, not per waiter)."""
        logged = self.ephemeral_between(after, upto)
        if not logged:
            return logged
        events = [
            wire.typing_event(self.group_id, item.user) if isinstance(item, Typing)
            else wire.member_event(self.group_id, item.user, item.joined)
            for item in logged
            if isinstance(item, Typing | MemberChange) and item.user.id != viewer_id
        ]
        key = (after, upto)
        if key not in self._merged:
            changes = [item for item in logged if isinstance(item, PresenceChange)]
            self._merged[key] = wire.presence_change(self.group_id, *merged_presence(changes)) if changes else None
        if (merged := self._merged[key]) is not None:
            events.append(merged)
        return events

    # What a re-poll asks first

    def quiet_since(self, pos: int, position: int) -> bool:
        """True only when memory shows for certain that nothing came after log position
        ``pos`` and ephemeral ``position``; anything unsure (not loaded, log trimmed) says False."""
        return (
            self.last_pos is not None
            and self._online is not None
            and self.last_pos <= pos
            and self._trimmed_position <= position
            and not (self._ephemeral and self._ephemeral[-1][0] > position)
        )

    def wake_all(self) -> None:
        for waiter in self.waiters:
            waiter.wake()
