"""The events cursor's text: what decodes, what is refused, and that it round-trips."""

from __future__ import annotations

import pytest

from tornado_chat.realtime.cursor import MAX_CURSOR_CHARS, Cursor, InvalidCursor
from tornado_chat.validation import MAX_ID

EPOCH = "0123456789ab"


def entry(group: int = 1, membership: int = 1, seq: int = 0, digest: int = 0) -> str:
    return f"{group}-{membership}-{seq}-{digest}"


def cursor_text(*entries: str, epoch: str = EPOCH, position: int | str = 0) -> str:
    return f"c1.{epoch}.{position}.{'_'.join(entries)}"


def test_a_cursor_round_trips_through_its_text() -> None:
    cursor = Cursor(EPOCH, 42, {7: (3, 120, 2**32 - 1, 7), 2: (9, 0, 0, None), MAX_ID: (MAX_ID, MAX_ID, 12345, 0)})
    assert Cursor.decode(cursor.encode()) == cursor


def test_a_cursor_with_no_groups_round_trips() -> None:
    cursor = Cursor(EPOCH, 0, {})
    assert cursor.encode() == f"c1.{EPOCH}.0."
    assert Cursor.decode(cursor.encode()) == cursor


def test_the_same_cursor_encodes_to_the_same_text_whatever_the_order_of_its_groups() -> None:
    one = Cursor(EPOCH, 5, {1: (1, 1, 1, 1), 2: (2, 2, 2, None)})
    other = Cursor(EPOCH, 5, {2: (2, 2, 2, None), 1: (1, 1, 1, 1)})
    assert one.encode() == other.encode()


def test_an_invalid_cursor_is_a_value_error() -> None:
    assert issubclass(InvalidCursor, ValueError)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "c1",
        f"c1.{EPOCH}.0",  # no entries part
        f"c2.{EPOCH}.0.",  # another version
        "c1..0.",  # no epoch
        f"c1.{'a' * 33}.0.",  # epoch over 32 hex digits
        "c1.0123456789AB.0.",  # upper-case hex
        f"c1.{EPOCH}..",  # no position
        f"c1.{EPOCH}.-1.",
        f"c1.{EPOCH}.{'1' * 20}.",  # position over 19 digits
        f"c1.{EPOCH}.\u0663.",  # a digit, but not an ASCII one
        f"c1.{EPOCH}.0.1-1-1",  # three fields
        f"c1.{EPOCH}.0.1-1-1-1-1-1",  # six fields
        f"c1.{EPOCH}.0.1-1-1-1-{'1' * 21}",  # a read stamp over 20 digits
        f"c1.{EPOCH}.0.1-1-1-1_",  # a trailing separator
        f"c1.{EPOCH}.0._1-1-1-1",
        f"c1.{EPOCH}.0.1-1-1-{'1' * 11}",  # digest over 10 digits
        f"c1.{EPOCH}.0.1-1--1-1",
        f"c1.{EPOCH}.0.1-1-1-1 ",
        f"c1.{EPOCH}.0.1-1-1-1\n",
        f" c1.{EPOCH}.0.",
    ],
)
def test_malformed_text_is_an_invalid_cursor(text: str) -> None:
    with pytest.raises(InvalidCursor):
        Cursor.decode(text)


@pytest.mark.parametrize(
    "bad_entry",
    [
        entry(group=MAX_ID + 1),
        entry(membership=MAX_ID + 1),
        entry(seq=MAX_ID + 1),
    ],
    ids=["group", "membership", "seq"],
)
def test_an_id_or_seq_above_max_id_is_an_invalid_cursor(bad_entry: str) -> None:
    with pytest.raises(InvalidCursor):
        Cursor.decode(cursor_text(bad_entry))


def test_ids_and_seq_of_exactly_max_id_are_accepted() -> None:
    decoded = Cursor.decode(cursor_text(entry(MAX_ID, MAX_ID, MAX_ID)))
    assert decoded.groups == {MAX_ID: (MAX_ID, MAX_ID, 0, None)}


def test_a_position_above_max_id_is_an_invalid_cursor() -> None:
    with pytest.raises(InvalidCursor):
        Cursor.decode(cursor_text(position=MAX_ID + 1))
    assert Cursor.decode(cursor_text(position=MAX_ID)).position == MAX_ID


def test_a_digest_of_2_to_the_32_or_more_is_an_invalid_cursor() -> None:
    with pytest.raises(InvalidCursor):
        Cursor.decode(cursor_text(entry(digest=2**32)))
    assert Cursor.decode(cursor_text(entry(digest=2**32 - 1))).groups[1][2] == 2**32 - 1


@pytest.mark.parametrize("bad_entry", [entry(group=0), entry(membership=0)], ids=["group", "membership"])
def test_a_zero_group_or_membership_id_is_an_invalid_cursor(bad_entry: str) -> None:
    with pytest.raises(InvalidCursor):
        Cursor.decode(cursor_text(bad_entry))


def test_a_zero_seq_and_a_zero_digest_are_accepted() -> None:
    assert Cursor.decode(cursor_text(entry(seq=0, digest=0))).groups == {1: (1, 0, 0, None)}


def well_formed_text_of(length: int) -> str:
    """A well-formed cursor text of exactly ``length`` characters (length >= 60)."""
    text = cursor_text(position=0)
    group = 1
    while length - len(text) > 40:
        text += ("_" if group > 1 else "") + entry(group)
        group += 1
    # the last entry takes up the rest in the digits of its membership id and seq (19 at most each)
    rest = length - len(text) - (1 if group > 1 else 0) - len(f"{group}---0")
    membership, seq = int("1" * min(19, rest - 1)), int("1" * (rest - min(19, rest - 1)))
    text += ("_" if group > 1 else "") + entry(group, membership, seq)
    assert len(text) == length
    return text


def test_a_well_formed_cursor_of_max_cursor_chars_is_accepted() -> None:
    assert Cursor.decode(well_formed_text_of(MAX_CURSOR_CHARS)).position == 0


def test_a_well_formed_cursor_longer_than_max_cursor_chars_is_an_invalid_cursor() -> None:
    with pytest.raises(InvalidCursor):
        Cursor.decode(well_formed_text_of(MAX_CURSOR_CHARS + 1))


def test_a_cursor_made_before_read_state_reads_as_one_whose_read_state_is_current() -> None:
    assert Cursor.decode(f"c1.{EPOCH}.0.4-5-6-7").groups == {4: (5, 6, 7, None)}


def test_a_read_stamp_past_the_largest_possible_is_an_invalid_cursor() -> None:
    with pytest.raises(InvalidCursor):
        Cursor.decode(f"c1.{EPOCH}.0.4-5-6-7-{'9' * 20}")
