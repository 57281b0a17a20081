"""A group's channel in the hub's memory: the consecutive run of recent log entries, the
ephemeral log, the online list's digest; and how presence changes merge into one."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tornado_chat.config import PROJECT_ROOT
from tornado_chat.models import LogEntry, User
from tornado_chat.realtime import channel as channel_module
from tornado_chat.realtime.channel import (
    EPHEMERAL_ENTRIES,
    EPHEMERAL_SECONDS,
    RECENT_ENTRIES,
    Channel,
    MemberChange,
    PresenceChange,
    PresenceView,
    Typing,
    merged_presence,
)

from ..support.clock import Clock

GROUP = 7
ANA, BOB, CAL = User(1, "ana"), User(2, "Bob"), User(3, "cal")


def entry(pos: int) -> LogEntry:
    """The log entry at ``pos``: a new message whose seq is its pos, as in a group never changed."""
    return LogEntry(GROUP, pos, pos, f'{{"type": "message", "pos": {pos}}}', 1735787045.0 + pos)


def loaded(last_pos: int, position: int = 0) -> Channel:
    """A channel as the feed leaves it after reading the group's newest entries: here,
    none in memory yet, the last position known."""
    channel = Channel(GROUP, position)
    channel.last_pos = last_pos
    return channel


def positions(entries: list[LogEntry] | None) -> list[int] | None:
    return None if entries is None else [e.pos for e in entries]


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(channel_module, "time", clock)
    return clock


# Channel.add: the consecutive run


def test_the_next_pos_extends_the_consecutive_run() -> None:
    channel = loaded(5)
    assert channel.add(entry(6)) is True
    assert (channel.last_pos, positions(list(channel.recent)), channel.pending) == (6, [6], {})


def test_a_message_ahead_of_a_gap_waits_in_pending_until_the_gap_is_filled() -> None:
    channel = loaded(5)
    assert channel.add(entry(8)) is False
    assert channel.add(entry(7)) is False
    assert (channel.last_pos, sorted(channel.pending)) == (5, [7, 8])
    assert channel.add(entry(6)) is True
    assert (channel.last_pos, positions(list(channel.recent)), channel.pending) == (8, [6, 7, 8], {})


@pytest.mark.parametrize("pos", [6, 5, 1], ids=["duplicate", "last-known", "older"])
def test_a_pos_already_in_the_run_or_older_is_ignored(pos: int) -> None:
    channel = loaded(5)
    channel.add(entry(6))
    assert channel.add(entry(pos)) is False
    assert (channel.last_pos, positions(list(channel.recent)), channel.pending) == (6, [6], {})


def test_a_channel_not_loaded_yet_takes_no_message() -> None:
    """The hub keeps what arrives during the load itself; a channel whose load failed
    takes nothing, and its pollers read the database."""
    channel = Channel(GROUP, 0)
    assert channel.add(entry(1)) is False
    assert (channel.last_pos, list(channel.recent), channel.pending) == (None, [], {})


# Channel.recent_after


def test_recent_after_is_none_before_the_channel_is_loaded() -> None:
    assert Channel(GROUP, 0).recent_after(0) is None


@pytest.mark.parametrize("pos", [10, 11, 1000])
def test_recent_after_the_last_pos_or_later_is_empty(pos: int) -> None:
    channel = loaded(9)
    channel.add(entry(10))
    assert channel.recent_after(pos) == []


def test_recent_after_is_the_messages_after_the_pos() -> None:
    channel = loaded(9)
    for pos in range(10, 15):
        channel.add(entry(pos))
    assert positions(channel.recent_after(9)) == [10, 11, 12, 13, 14]
    assert positions(channel.recent_after(12)) == [13, 14]


def test_recent_after_is_none_when_memory_no_longer_reaches_back() -> None:
    channel = loaded(9)
    for pos in range(10, 15):
        channel.add(entry(pos))
    assert channel.recent_after(8) is None
    assert loaded(9).recent_after(8) is None  # loaded with nothing in memory


def test_memory_keeps_the_last_recent_messages_only() -> None:
    channel = loaded(0)
    for pos in range(1, RECENT_ENTRIES + 11):
        channel.add(entry(pos))
    assert len(channel.recent) == RECENT_ENTRIES
    assert channel.recent_after(9) is None
    assert positions(channel.recent_after(10)) == list(range(11, RECENT_ENTRIES + 11))


# Channel.ephemeral_between: typing and presence changes under the process's position


def test_ephemeral_between_is_the_entries_in_after_exclusive_to_upto_inclusive(clock: Clock) -> None:
    channel = Channel(GROUP, 5)
    typing, change, later = Typing(ANA), PresenceChange((BOB,), ()), Typing(CAL)
    for position, item in ((6, typing), (7, change), (8, later)):
        channel.log(position, item)
    assert channel.ephemeral_between(5, 8) == [typing, change, later]
    assert channel.ephemeral_between(6, 7) == [change]
    assert channel.ephemeral_between(5, 6) == [typing]


@pytest.mark.parametrize("after", [8, 9])
def test_ephemeral_between_from_the_last_entry_on_is_empty(clock: Clock, after: int) -> None:
    channel = Channel(GROUP, 5)
    channel.log(8, Typing(ANA))
    assert channel.ephemeral_between(after, after + 1) == []


def test_ephemeral_between_is_none_from_before_the_channel_existed() -> None:
    channel = Channel(GROUP, 5)
    assert channel.ephemeral_between(4, 5) is None
    assert channel.ephemeral_between(5, 5) == []


def test_the_log_keeps_at_most_ephemeral_entries_and_older_ranges_are_none(clock: Clock) -> None:
    channel = Channel(GROUP, 0)
    for position in range(1, EPHEMERAL_ENTRIES + 2):
        channel.log(position, Typing(ANA))
    assert channel.ephemeral_between(0, 5) is None
    assert len(channel.ephemeral_between(1, EPHEMERAL_ENTRIES + 1) or []) == EPHEMERAL_ENTRIES


def test_the_log_forgets_entries_older_than_ephemeral_seconds(clock: Clock) -> None:
    channel = Channel(GROUP, 0)
    channel.log(1, Typing(ANA))
    clock.advance(EPHEMERAL_SECONDS / 2)
    channel.log(2, Typing(BOB))
    clock.advance(EPHEMERAL_SECONDS / 2 + 1)
    channel.log(3, Typing(CAL))
    assert channel.ephemeral_between(0, 3) is None
    assert channel.ephemeral_between(1, 3) == [Typing(BOB), Typing(CAL)]


# The online list's digest


def test_the_presence_digest_is_the_same_whatever_order_the_users_came_in() -> None:
    one = PresenceView.of({u.id: u for u in (ANA, BOB, CAL)})
    other = PresenceView.of({u.id: u for u in (CAL, ANA, BOB)})
    assert one == other


def test_the_presence_digest_is_the_same_in_every_process() -> None:
    """A cursor carries it to other processes and across restarts: nothing salted per
    process (as str hashes are) may go into it."""
    here = PresenceView.of({ANA.id: ANA, BOB.id: BOB}).digest
    program = (
        "from tornado_chat.realtime.channel import PresenceView; from tornado_chat.models import User; "
        "print(PresenceView.of({1: User(1, 'ana'), 2: User(2, 'Bob')}).digest)"
    )
    for seed in ("1", "2"):
        elsewhere = subprocess.run(
            [sys.executable, "-c", program], env={**os.environ, "PYTHONHASHSEED": seed},
            cwd=PROJECT_ROOT, capture_output=True, text=True, check=True,
        )
        assert int(elsewhere.stdout) == here


def test_the_presence_digest_changes_when_the_online_list_does() -> None:
    digests = {
        PresenceView.of({u.id: u for u in users}).digest for users in ((), (ANA,), (BOB,), (ANA, BOB), (ANA, BOB, CAL))
    }
    assert len(digests) == 5


def test_the_online_list_is_sorted_by_username_regardless_of_case() -> None:
    assert PresenceView.of({u.id: u for u in (CAL, BOB, ANA)}).users == (ANA, BOB, CAL)


def test_a_logged_presence_change_updates_a_known_online_list(clock: Clock) -> None:
    channel = Channel(GROUP, 0)
    channel.load_presence([ANA], 0)
    before = channel.presence()
    channel.log(1, PresenceChange((BOB,), (ANA,)))
    assert channel.presence() == PresenceView.of({BOB.id: BOB})
    assert channel.presence().digest != before.digest


# Several presence changes as one


def test_merged_presence_keeps_the_latest_word_for_each_user() -> None:
    changes = [PresenceChange((ANA, BOB), ()), PresenceChange((), (ANA,)), PresenceChange((CAL,), (BOB,)),
               PresenceChange((BOB,), ())]
    came, went = merged_presence(changes)
    assert (sorted(came, key=lambda u: u.id), went) == ([BOB, CAL], [ANA])


def test_merged_presence_of_no_changes_is_empty() -> None:
    assert merged_presence([]) == ([], [])


# Loading: what arrived meanwhile follows the newest messages read


def test_messages_held_while_loading_follow_the_ones_read() -> None:
    channel = Channel(GROUP, 0)
    channel.pending = {5: entry(5), 4: entry(4), 7: entry(7)}
    channel.loaded([entry(2), entry(3)], 3, 3)
    assert positions(channel.recent_after(1)) == [2, 3, 4, 5]
    assert channel.last_pos == 5
    assert list(channel.pending) == [7]  # still ahead of a gap


def test_a_channel_too_far_behind_skips_to_the_newest_pos_and_forgets_memory() -> None:
    channel = loaded(3)
    channel.add(entry(4))
    channel.add(entry(9))
    channel.skip_to(1000)
    assert channel.last_pos == 1000
    assert channel.recent_after(999) is None  # pollers read the database
    assert channel.pending == {}


# What a re-poll asks first


def test_a_loaded_channel_with_nothing_after_the_cursor_is_quiet(clock: Clock) -> None:
    channel = loaded(3, position=2)
    channel.load_presence([], 0)
    assert channel.quiet_since(3, 2)


def test_a_channel_is_not_quiet_after_a_newer_message() -> None:
    channel = loaded(3)
    channel.load_presence([], 0)
    channel.add(entry(4))
    assert not channel.quiet_since(3, 0)


def test_a_channel_is_not_quiet_after_a_newer_ephemeral_entry(clock: Clock) -> None:
    channel = loaded(3)
    channel.load_presence([], 0)
    channel.log(5, Typing(BOB))
    assert not channel.quiet_since(3, 4)
    assert channel.quiet_since(3, 5)


def test_a_channel_unsure_of_what_came_is_never_quiet(clock: Clock) -> None:
    unloaded = Channel(GROUP, 0)
    unloaded.load_presence([], 0)
    no_presence = loaded(3)
    trimmed = loaded(3, position=9)
    trimmed.load_presence([], 0)
    assert not unloaded.quiet_since(3, 0)
    assert not no_presence.quiet_since(3, 0)
    assert not trimmed.quiet_since(3, 5)  # the log begins after the cursor's position


# Ephemeral events


def test_ephemeral_events_leave_out_the_viewers_own_typing(clock: Clock) -> None:
    channel = Channel(GROUP, 0)
    channel.log(1, Typing(ANA))
    channel.log(2, Typing(BOB))
    events = [json.loads(e) for e in channel.ephemeral_events(ANA.id, 0, 2) or []]
    assert events == [{"type": "typing", "group_id": GROUP, "user": {"id": BOB.id, "username": "Bob"}}]


def test_ephemeral_events_merge_the_presence_changes_of_a_range_into_one(clock: Clock) -> None:
    channel = Channel(GROUP, 0)
    channel.log(1, PresenceChange((ANA, BOB), ()))
    channel.log(2, PresenceChange((), (ANA,)))
    events = [json.loads(e) for e in channel.ephemeral_events(CAL.id, 0, 2) or []]
    assert events == [{"type": "presence", "group_id": GROUP, "came": [{"id": 2, "username": "Bob"}],
                       "went": [{"id": 1, "username": "ana"}]}]


def test_the_merged_change_of_a_range_is_encoded_once_for_every_poll(clock: Clock) -> None:
    channel = Channel(GROUP, 0)
    channel.log(1, PresenceChange((ANA,), ()))
    first, second = channel.ephemeral_events(BOB.id, 0, 1), channel.ephemeral_events(CAL.id, 0, 1)
    assert first is not None and second is not None
    assert first[-1] is second[-1]


def test_ephemeral_events_are_none_when_the_log_no_longer_reaches_back(clock: Clock) -> None:
    channel = Channel(GROUP, 5)
    assert channel.ephemeral_events(ANA.id, 4, 6) is None


def test_ephemeral_events_tell_of_others_joining_and_leaving_but_not_the_viewer(clock: Clock) -> None:
    channel = Channel(GROUP, 0)
    channel.log(1, MemberChange(BOB, True))
    channel.log(2, MemberChange(ANA, False))
    events = [json.loads(e) for e in channel.ephemeral_events(ANA.id, 0, 2) or []]
    assert events == [{"type": "member", "group_id": GROUP, "user": {"id": BOB.id, "username": "Bob"}, "joined": True}]
