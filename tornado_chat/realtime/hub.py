"""The long-poll hub: parked waiters, per-group channels, and the wake-up rounds.

No storage and no HTTP here. Everything that changes reaches the hub *after* it is
committed, through a notifier (``notifier.LocalNotifier`` in one process,
``redis_notifier.RedisNotifier`` across processes), and the hub wakes the waiters of
that group or user. A woken waiter re-reads what it needs from the channels' memory,
so waking N waiters of a group costs no database query per waiter. What must be read
from the database (loading a channel, filling a gap) is the ``Feed``'s job: the hub
tells its listener when it needs one.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Iterable
from typing import Protocol

from ..models import LogEntry, User
from .channel import Channel, Ephemeral, MemberChange, PresenceChange, Typing
from .waiter import Waiter

IDLE_CHANNEL_SECONDS = 300.0  # a channel nobody polled for this long is dropped, and read again when needed
EPOCH_BYTES = 6  # a process's ephemeral log is known by a random epoch: a cursor from another cannot replay it
# Wake-up rounds: news that comes sooner than the interval after the last round waits for
# the next one, so that a busy process answers each poll with several messages instead of
# one each. The interval doubles while news keeps coming sooner, up to the maximum, and is
# back at the minimum after a quiet spell, so a lone message or a moderate flow waits for nothing.
WAKE_INTERVAL_MIN = 0.002
WAKE_INTERVAL_MAX = 0.020


class HubListener(Protocol):
    """Who fills in what the hub's memory lacks (``feed.Feed``)."""

    def gap_found(self, channel: Channel) -> None:
        """A later log position arrived before an earlier one."""

    def memberships_changed(self, user_id: int | None) -> None:
        """A user's memberships changed (None: anyone's may have)."""

    def read_moved(self, user_id: int, group_id: int, last_read_seq: int | None, notify: str | None) -> None:
        """A user's read state of a group moved (None: that part did not change)."""


class Hub:
    """Waiters and channels of one process."""

    def __init__(self) -> None:
        self.epoch = secrets.token_hex(EPOCH_BYTES)
        self.position = 0
        self.closing = False
        self.membership_version = 0  # moves on at every membership change, of anyone
        self._listener: HubListener | None = None
        self._channels: dict[int, Channel] = {}
        self._user_waiters: dict[int, set[Waiter]] = {}
        self._to_wake: set[Channel] = set()
        self._wake_round: asyncio.Handle | None = None
        self._last_wake_round = -WAKE_INTERVAL_MAX
        self._wake_interval = WAKE_INTERVAL_MIN

    def listen(self, listener: HubListener) -> None:
        self._listener = listener

    # What the notifier delivers

    def logged(self, entry: LogEntry) -> None:
        """A committed entry of a group's log: a new message, or a change to one."""
        channel = self._channels.get(entry.group_id)
        if channel is None:
            return
        if channel.loading:
            channel.pending[entry.pos] = entry
        elif not channel.add(entry):
            if channel.pending and self._listener is not None:
                self._listener.gap_found(channel)
            return
        self.wake(channel)

    def typing(self, group_id: int, user: User) -> None:
        self._log(group_id, Typing(user))

    def presence_changed(self, group_id: int, came: Iterable[User], went: Iterable[User]) -> None:
        self._log(group_id, PresenceChange(tuple(came), tuple(went)))

    def membership_changed(self, user: User, group_id: int, joined: bool | None) -> None:
        """The user's own polls re-read their memberships; the group's other members hear of a
        join or a leave (``joined`` None: the membership changed in place, such as its role)."""
        self.membership_version += 1
        if self._listener is not None:
            self._listener.memberships_changed(user.id)
        for waiter in self._user_waiters.get(user.id, ()):
            waiter.membership_changed = True
            waiter.wake()
        if joined is not None:
            self._log(group_id, MemberChange(user, joined))

    def read_moved(self, user_id: int, group_id: int, last_read_seq: int | None, notify: str | None) -> None:
        """The user's read state moved: their polls answer with it (no other member hears of it)."""
        if self._listener is not None:
            self._listener.read_moved(user_id, group_id, last_read_seq, notify)
        for waiter in self._user_waiters.get(user_id, ()):
            waiter.wake()

    def _log(self, group_id: int, item: Ephemeral) -> None:
        channel = self._channels.get(group_id)
        if channel is None:
            return
        self.position += 1
        channel.log(self.position, item)
        self.wake(channel)

    # Wake-up rounds

    def wake(self, channel: Channel) -> None:
        """Wake the channel's waiters as soon as the current callback is done (the sender's
        answer goes out first: waking a thousand waiters takes a millisecond or two), or
        with the next round if the last was too recent."""
        self._to_wake.add(channel)
        if self._wake_round is not None:
            return
        loop = asyncio.get_running_loop()
        due = self._last_wake_round + self._wake_interval
        if loop.time() >= due:
            self._wake_interval = WAKE_INTERVAL_MIN
            self._wake_round = loop.call_soon(self._wake_now)
        else:
            self._wake_interval = min(2 * self._wake_interval, WAKE_INTERVAL_MAX)
            self._wake_round = loop.call_at(due, self._wake_now)

    def _wake_now(self) -> None:
        self._wake_round = None
        self._last_wake_round = asyncio.get_running_loop().time()
        channels, self._to_wake = self._to_wake, set()
        for channel in channels:
            channel.wake_all()

    # Channels and waiters

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

    def loaded_channels(self) -> dict[int, Channel]:
        return {gid: ch for gid, ch in self._channels.items() if ch.last_pos is not None}

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

    def start_new_epoch(self) -> None:
        """Ephemeral events may have been missed: online lists are read again, and older
        cursors get presence snapshots where their list differs."""
        self.epoch = secrets.token_hex(EPOCH_BYTES)
        for channel in self._channels.values():
            channel.forget_presence()

    def release_waiters(self) -> None:
        """Shutting down: every poll answers now with what it has, and none parks again."""
        self.closing = True
        for waiters in self._user_waiters.values():
            for waiter in waiters:
                waiter.wake()

    def wake_everyone(self) -> None:
        """Every waiter re-reads its memberships and what it may have missed."""
        self.membership_version += 1
        if self._listener is not None:
            self._listener.memberships_changed(None)
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
            if not ch.waiters and not ch.loading and not ch.pending and ch.last_used < cutoff
        ]
        for group_id in idle:
            del self._channels[group_id]
        return len(idle)
