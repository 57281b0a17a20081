"""The long-poll hub: parked waiters, per-group channels, recent messages in memory.

No HTTP here. Everything that changes reaches the hub *after* it is committed,
through a notifier (``LocalNotifier`` in one process; the scale-out work plugs
in one that goes through Redis), and the hub wakes the waiters of that group or
user. A woken waiter re-reads what it needs from the hub's memory, so waking N
waiters of a group costs no database query per waiter, and each message's
event JSON is encoded once and shared by every answer that carries it.

Messages are persistent and addressed by their per-group ``seq``. Typing and
presence changes are ephemeral: each channel keeps a short log of them under a
process-wide ``position``; a cursor from another process (another ``epoch``) or
older than the log gets a presence snapshot instead.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import logging
import secrets
import time
import zlib
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import islice
from typing import Protocol

from .auth import SessionCache
from .models import Membership, Message, User, online_since
from .storage import DatabaseUnavailable, Storage

log = logging.getLogger(__name__)

RECENT_MESSAGES = 256
EPHEMERAL_ENTRIES = 512
EPHEMERAL_SECONDS = 120.0
GAP_FILL_DELAY = 0.25
IDLE_CHANNEL_SECONDS = 300.0
MEMBERSHIP_TTL = 30.0  # a bound on staleness while Redis is away
# Wake-up rounds: news that comes sooner than the interval after the last round waits for
# the next one, so that a busy process answers each poll with several messages instead of
# one each. The interval doubles while news keeps coming sooner, up to the maximum, and is
# back at the minimum after a quiet spell, so a lone message or a moderate flow waits for nothing.
WAKE_INTERVAL_MIN = 0.002
WAKE_INTERVAL_MAX = 0.020


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """A committed message and its ``message`` event, encoded once."""

    message: Message
    event_json: str
    created: float  # message.created_at as a time.time() value, for the delivery-latency histogram

    @classmethod
    def of(cls, message: Message) -> StoredMessage:
        event_json = json.dumps({"type": "message", "message": message.to_json()}, ensure_ascii=False)
        return cls(message, event_json, message.created_at.replace(tzinfo=datetime.UTC).timestamp())

    @property
    def seq(self) -> int:
        return self.message.seq


@dataclass(frozen=True, slots=True)
class Typing:
    user: User


@dataclass(frozen=True, slots=True)
class PresenceChange:
    came: tuple[User, ...]
    went: tuple[User, ...]


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


Ephemeral = Typing | PresenceChange


class Waiter:
    """One parked events request: woken by any news in its groups or for its user."""

    __slots__ = ("user_id", "group_ids", "membership_changed", "woken", "_future")

    def __init__(self, user_id: int, group_ids: tuple[int, ...]) -> None:
        self.user_id = user_id
        self.group_ids = group_ids
        self.membership_changed = False
        self.woken = False
        self._future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def wake(self) -> None:
        self.woken = True
        if not self._future.done():
            self._future.set_result(None)

    def rearm(self) -> None:
        """Ready to wait again, registered as before: a woken poll that reads and finds
        nothing parks again without a new waiter."""
        self.woken = False

    async def wait(self, timeout: float) -> bool:
        """Wait until woken or ``timeout`` passes; True when woken. A bare timer handle, not
        ``asyncio.timeout``: every parked poll has one, and a timeout costs no cancellation."""
        if self.woken:
            return True
        loop = asyncio.get_running_loop()
        if self._future.done():  # an earlier wait timed out
            self._future = loop.create_future()
        timer = loop.call_later(timeout, self._future.set_result, None)
        try:
            await self._future
        finally:
            timer.cancel()
        return self.woken


class Channel:
    """A group's state in this process: its recent messages, ephemeral log and waiters.

    ``recent`` holds consecutive seqs ending at ``last_seq``. Messages that arrive
    ahead of a gap wait in ``pending`` until the gap is filled from publication
    or, after a short delay, from the database.
    """

    def __init__(self, group_id: int, position: int) -> None:
        self.group_id = group_id
        self.last_seq: int | None = None
        self.recent: deque[StoredMessage] = deque(maxlen=RECENT_MESSAGES)
        self.pending: dict[int, StoredMessage] = {}
        self.loading: asyncio.Future[None] | None = None
        self.gap_fill: asyncio.TimerHandle | None = None
        self.ephemeral: deque[tuple[int, float, Ephemeral]] = deque()
        self.trimmed_position = position
        self.waiters: set[Waiter] = set()
        self.last_used = time.monotonic()
        self.online: dict[int, User] | None = None  # loaded from MySQL once, then kept by the changes
        self._view: PresenceView | None = None
        self.encoded_changes: dict[tuple[int, int], str | None] = {}  # (after, upto) -> merged change

    def add(self, stored: StoredMessage) -> bool:
        """Take a committed message; True when it extended the consecutive run."""
        if self.last_seq is None or stored.seq <= self.last_seq:
            return False
        self.pending[stored.seq] = stored
        advanced = False
        while (following := self.pending.pop(self.last_seq + 1, None)) is not None:
            self.recent.append(following)
            self.last_seq = following.seq
            advanced = True
        return advanced

    def recent_after(self, seq: int) -> list[StoredMessage] | None:
        """Messages with a greater seq from memory; None when memory no longer reaches back."""
        if self.last_seq is None:
            return None
        if seq >= self.last_seq:
            return []
        first = self.recent[0].seq if self.recent else self.last_seq + 1
        if seq + 1 < first:
            return None
        return list(islice(self.recent, seq + 1 - first, None))

    def presence(self) -> PresenceView:
        if self._view is None:
            self._view = PresenceView.of(self.online or {})
        return self._view

    def apply(self, change: PresenceChange) -> None:
        if self.online is None:
            return
        for user in change.came:
            self.online[user.id] = user
        for user in change.went:
            self.online.pop(user.id, None)
        self.presence_changed()

    def presence_changed(self) -> None:
        self._view = None

    def log(self, position: int, item: Ephemeral) -> None:
        if isinstance(item, PresenceChange):
            self.apply(item)
        self.encoded_changes.clear()
        now = time.monotonic()
        self.ephemeral.append((position, now, item))
        while self.ephemeral and (
            len(self.ephemeral) > EPHEMERAL_ENTRIES or self.ephemeral[0][1] < now - EPHEMERAL_SECONDS
        ):
            self.trimmed_position = self.ephemeral.popleft()[0]

    def ephemeral_between(self, after: int, upto: int) -> list[Ephemeral] | None:
        """Ephemeral items logged in (after, upto]; None when some were already trimmed."""
        if after < self.trimmed_position:
            return None
        if not self.ephemeral or self.ephemeral[-1][0] <= after:
            return []  # the usual case: nothing new
        return [item for position, _, item in self.ephemeral if after < position <= upto]

    def wake_all(self) -> None:
        for waiter in self.waiters:
            waiter.wake()


class Notifier(Protocol):
    """The seam through which committed changes reach the hub of every process."""

    def message_stored(self, message: Message) -> None: ...

    def typing(self, group_id: int, user: User) -> None: ...

    def presence_changed(self, group_id: int, came: Iterable[User], went: Iterable[User]) -> None: ...

    def membership_changed(self, user_id: int, group_id: int) -> None: ...

    def session_revoked(self, token_hash: str) -> None: ...


class Hub:
    """Waiters and channels of one process."""

    def __init__(self, storage: Storage, presence_timeout: float) -> None:
        self.storage = storage
        self._presence_timeout = presence_timeout
        self.epoch = secrets.token_hex(6)
        self.position = 0
        self.closing = False
        self.membership_version = 0  # moves on at every membership change, of anyone
        self._channels: dict[int, Channel] = {}
        self._user_waiters: dict[int, set[Waiter]] = {}
        # Each polling user's memberships, so that a re-poll costs no query; dropped by
        # any membership change of that user, which reaches every process.
        self._memberships: dict[int, tuple[dict[int, Membership], float]] = {}
        self._to_wake: set[Channel] = set()
        self._wake_round: asyncio.TimerHandle | None = None
        self._last_wake_round = -WAKE_INTERVAL_MAX
        self._wake_interval = WAKE_INTERVAL_MIN

    # What the notifier delivers

    def message_stored(self, message: Message) -> None:
        channel = self._channels.get(message.group_id)
        if channel is None:
            return
        stored = StoredMessage.of(message)
        if channel.loading is not None:
            channel.pending[stored.seq] = stored
        elif not channel.add(stored):
            if channel.pending:
                self._schedule_gap_fill(channel)
            return
        self._wake(channel)

    def typing(self, group_id: int, user: User) -> None:
        self._log(group_id, Typing(user))

    def presence_changed(self, group_id: int, came: Iterable[User], went: Iterable[User]) -> None:
        self._log(group_id, PresenceChange(tuple(came), tuple(went)))

    def membership_changed(self, user_id: int, group_id: int) -> None:
        self.membership_version += 1
        self._memberships.pop(user_id, None)
        for waiter in self._user_waiters.get(user_id, ()):
            waiter.membership_changed = True
            waiter.wake()

    def _log(self, group_id: int, item: Ephemeral) -> None:
        channel = self._channels.get(group_id)
        if channel is None:
            return
        self.position += 1
        channel.log(self.position, item)
        self._wake(channel)

    def _wake(self, channel: Channel) -> None:
        """Wake the channel's waiters now, or with the next round if the last was too recent."""
        self._to_wake.add(channel)
        if self._wake_round is not None:
            return
        loop = asyncio.get_running_loop()
        due = self._last_wake_round + self._wake_interval
        if loop.time() >= due:
            self._wake_interval = WAKE_INTERVAL_MIN
            self._wake_now()
        else:
            self._wake_interval = min(2 * self._wake_interval, WAKE_INTERVAL_MAX)
            self._wake_round = loop.call_at(due, self._wake_now)

    def _wake_now(self) -> None:
        self._wake_round = None
        self._last_wake_round = asyncio.get_running_loop().time()
        channels, self._to_wake = self._to_wake, set()
        for channel in channels:
            channel.wake_all()

    # What pollers use

    def channel(self, group_id: int) -> Channel:
        channel = self._channels.get(group_id)
        if channel is None:
            # A new channel has no log of what came before: move the position on so
            # that every older cursor reads as too old (and gets a snapshot).
            self.position += 1
            channel = self._channels[group_id] = Channel(group_id, self.position)
        channel.last_used = time.monotonic()
        return channel

    def known_channel(self, group_id: int) -> Channel | None:
        """The group's channel if this process has one (never creates it)."""
        return self._channels.get(group_id)

    def park(self, user_id: int, group_ids: Iterable[int]) -> Waiter:
        """Register a waiter *before* reading, so that no wake-up can fall in between."""
        waiter = Waiter(user_id, tuple(group_ids))
        self._user_waiters.setdefault(user_id, set()).add(waiter)
        for group_id in waiter.group_ids:
            self.channel(group_id).waiters.add(waiter)
        return waiter

    def discard(self, waiter: Waiter) -> None:
        """Forget a waiter; safe to call more than once."""
        waiting = self._user_waiters.get(waiter.user_id)
        if waiting is not None:
            waiting.discard(waiter)
            if not waiting:
                del self._user_waiters[waiter.user_id]
        for group_id in waiter.group_ids:
            channel = self._channels.get(group_id)
            if channel is not None:
                channel.waiters.discard(waiter)
        waiter.wake()

    @property
    def waiter_count(self) -> int:
        return sum(len(waiters) for waiters in self._user_waiters.values())

    async def memberships(self, user_id: int) -> dict[int, Membership]:
        cached = self._memberships.get(user_id)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        found, _ = await self.storage.memberships(user_id)
        self._memberships[user_id] = (found, time.monotonic() + MEMBERSHIP_TTL)
        return found

    async def messages_after(self, group_id: int, seq: int, limit: int) -> list[StoredMessage]:
        """Up to ``limit`` committed messages of a group after ``seq``, from memory when it reaches."""
        channel = self.channel(group_id)
        await self._ensure_loaded(channel)
        found = channel.recent_after(seq)
        if found is None:
            return [StoredMessage.of(m) for m in await self.storage.messages_after(group_id, seq, limit)]
        return found[:limit]

    async def ensure_presence(self, group_ids: Iterable[int]) -> None:
        """Load the online lists this process does not know yet, in one query; changes
        logged while the query ran are applied again on top (the latest word wins)."""
        missing = [gid for gid in group_ids if self.channel(gid).online is None]
        if not missing:
            return
        before = self.position
        found = await self.storage.online_members(missing, online_since(self._presence_timeout))
        for group_id in missing:
            channel = self.channel(group_id)
            if channel.online is not None:
                continue
            channel.online = {user.id: user for user in found[group_id]}
            for position, _, item in channel.ephemeral:
                if position > before and isinstance(item, PresenceChange):
                    channel.apply(item)

    async def _ensure_loaded(self, channel: Channel) -> None:
        """Read the group's newest messages once; concurrent callers share the read.
        A failed read leaves the channel unloaded, and callers fall back to the database."""
        if channel.last_seq is not None:
            return
        if channel.loading is not None:
            await asyncio.shield(channel.loading)
            return
        channel.loading = asyncio.get_running_loop().create_future()
        try:
            newest = await self.storage.messages_before(channel.group_id, 2**63 - 1, 0, RECENT_MESSAGES)
            last_seq = newest[-1].seq if newest else await self.storage.last_seq(channel.group_id)
            channel.recent.extend(StoredMessage.of(m) for m in newest)
            channel.last_seq = last_seq
            pending, channel.pending = channel.pending, {}
            for stored in sorted(pending.values(), key=lambda s: s.seq):
                channel.add(stored)
        finally:
            channel.loading.set_result(None)
            channel.loading = None
        if channel.pending:
            self._schedule_gap_fill(channel)

    def _schedule_gap_fill(self, channel: Channel) -> None:
        """A later seq arrived first: give the missing one a moment, then read it."""
        if channel.gap_fill is None:
            loop = asyncio.get_running_loop()
            channel.gap_fill = loop.call_later(GAP_FILL_DELAY, lambda: loop.create_task(self._fill_gap(channel)))

    async def _fill_gap(self, channel: Channel) -> None:
        channel.gap_fill = None
        if not channel.pending or channel.last_seq is None:
            return
        missing = min(channel.pending) - channel.last_seq - 1
        try:
            found = await self.storage.messages_after(channel.group_id, channel.last_seq, missing)
        except Exception as exc:
            if not isinstance(exc, DatabaseUnavailable):  # an outage is logged once, by storage
                log.exception("filling a seq gap of group %s", channel.group_id)
            self._schedule_gap_fill(channel)
            return
        advanced = False
        for message in found:
            advanced = channel.add(StoredMessage.of(message)) or advanced
        if advanced:
            self._wake(channel)
        if channel.pending:
            self._schedule_gap_fill(channel)

    async def resync(self) -> None:
        """Catch up from MySQL: whatever was committed but not heard (Redis down, a
        publication lost) reaches the waiters. One query when nothing is missing."""
        loaded = {gid: ch for gid, ch in self._channels.items() if ch.last_seq is not None}
        if not loaded:
            return
        for group_id, seq in (await self.storage.last_seqs(loaded)).items():
            channel = loaded[group_id]
            behind = seq - (channel.last_seq or 0)
            if channel.last_seq is None or behind <= 0:
                continue
            if behind > RECENT_MESSAGES:  # too far behind to keep consecutive: pollers read MySQL
                channel.recent.clear()
                channel.pending.clear()
                channel.last_seq = seq
            else:
                for message in await self.storage.messages_after(group_id, channel.last_seq, behind):
                    channel.add(StoredMessage.of(message))
            self._wake(channel)

    def start_new_epoch(self) -> None:
        """Ephemeral events may have been missed: online lists are read again, and older
        cursors get presence snapshots where their list differs."""
        self.epoch = secrets.token_hex(6)
        for channel in self._channels.values():
            channel.online = None
            channel.presence_changed()

    def release_waiters(self) -> None:
        """Shutting down: every poll answers now with what it has, and none parks again."""
        self.closing = True
        for waiters in self._user_waiters.values():
            for waiter in waiters:
                waiter.wake()

    def wake_everyone(self) -> None:
        """Every waiter re-reads its memberships and what it may have missed."""
        self.membership_version += 1
        self._memberships.clear()
        for waiters in self._user_waiters.values():
            for waiter in waiters:
                waiter.membership_changed = True
                waiter.wake()

    def collect_garbage(self) -> int:
        """Drop channels nobody waits on and nobody used lately; returns how many."""
        cutoff = time.monotonic() - IDLE_CHANNEL_SECONDS
        idle = [
            gid
            for gid, ch in self._channels.items()
            if not ch.waiters and ch.loading is None and ch.gap_fill is None and ch.last_used < cutoff
        ]
        for group_id in idle:
            del self._channels[group_id]
        now = time.monotonic()
        for user_id in [u for u, (_, expires) in self._memberships.items() if expires < now]:
            del self._memberships[user_id]
        return len(idle)


class LocalNotifier:
    """The one-process notifier: hands every change straight to this process's hub."""

    def __init__(self, hub: Hub, sessions: SessionCache) -> None:
        self._hub = hub
        self._sessions = sessions

    def message_stored(self, message: Message) -> None:
        self._hub.message_stored(message)

    def typing(self, group_id: int, user: User) -> None:
        self._hub.typing(group_id, user)

    def presence_changed(self, group_id: int, came: Iterable[User], went: Iterable[User]) -> None:
        self._hub.presence_changed(group_id, came, went)

    def membership_changed(self, user_id: int, group_id: int) -> None:
        self._hub.membership_changed(user_id, group_id)

    def session_revoked(self, token_hash: str) -> None:
        self._sessions.forget(token_hash)
