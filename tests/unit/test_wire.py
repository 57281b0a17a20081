"""The wire format (``wire.py``): the JSON shapes of the contract, timestamps, the events'
JSON, the poll's answer and error body, and the messages that Redis carries between processes."""

from __future__ import annotations

import dataclasses
import datetime
import json

from tornado_chat import wire
from tornado_chat.models import Group, ImageRef, Member, Message, Reaction, ReplyRef, User, as_utc, utcnow
from tornado_chat.realtime.channel import PresenceView
from tornado_chat.wire import iso, membership_event, presence_snapshot

ANA, BOB = User(1, "ana"), User(2, "Bob")
WHEN = datetime.datetime(2025, 1, 2, 3, 4, 5, 678901)
TEXT = Message(10, 7, 3, ANA, "text", "olá 🙂", WHEN, "client-1")
PICTURE = Message(11, 7, 4, BOB, "image", None, WHEN, None, ImageRef("k3y", 640, 480))
GROUP = Group(
    7, "Café", datetime.datetime(2024, 12, 31, 23, 59, 59, 999000), ANA, members=3, online=1, joined=True, role="owner"
)


# Timestamps


def test_iso_is_utc_with_milliseconds_and_a_z() -> None:
    assert iso(WHEN) == "2025-01-02T03:04:05.678Z"
    assert iso(datetime.datetime(2025, 1, 2)) == "2025-01-02T00:00:00.000Z"


def test_utcnow_is_naive_utc_at_millisecond_precision() -> None:
    """What a DATETIME(3) column stores: a value read back equals the one written."""
    before = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    now = utcnow()
    after = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    assert now.tzinfo is None
    assert now.microsecond % 1000 == 0
    assert before - datetime.timedelta(milliseconds=1) < now <= after


def test_as_utc_is_a_timestamp_as_utcnow_gives_it() -> None:
    assert as_utc(1735787045.678901) == datetime.datetime(2025, 1, 2, 3, 4, 5, 678000)


# The contract's JSON


def test_a_user_is_its_id_and_username() -> None:
    assert wire.user(ANA) == {"id": 1, "username": "ana"}


def test_a_group_in_json() -> None:
    assert wire.group(GROUP) == {
        "id": 7, "name": "Café", "created_at": "2024-12-31T23:59:59.999Z", "created_by": {"id": 1, "username": "ana"},
        "members": 3, "online": 1, "joined": True, "kind": "public", "topic": "", "role": "owner", "peer": None,
        "last_read_seq": None, "unread": None, "unread_mentions": None, "notify": None,
    }


# A message as stored, never changed: the v2 fields' starting values.
UNCHANGED = {"version": 1, "edited_at": None, "deleted": False, "reply_to": None, "reactions": [], "mentions": []}


def test_a_text_message_in_json() -> None:
    assert wire.message(TEXT) == {
        "id": 10, "group_id": 7, "seq": 3, "user": {"id": 1, "username": "ana"}, "kind": "text", "text": "olá 🙂",
        "image": None, "created_at": "2025-01-02T03:04:05.678Z", "client_id": "client-1", **UNCHANGED,
    }


def test_an_image_message_in_json_has_the_urls_and_size_of_its_picture() -> None:
    assert wire.message(PICTURE) == {
        "id": 11, "group_id": 7, "seq": 4, "user": {"id": 2, "username": "Bob"}, "kind": "image", "text": None,
        "image": {"url": "/images/k3y", "thumb_url": "/images/k3y/thumb", "width": 640, "height": 480},
        "created_at": "2025-01-02T03:04:05.678Z", "client_id": None, **UNCHANGED,
    }


# Events


def test_a_message_event_carries_the_message_with_the_text_as_is() -> None:
    event = wire.message_event(TEXT)
    assert json.loads(event) == {"type": "message", "message": wire.message(TEXT)}
    assert "olá 🙂" in event  # not \\u escapes


def test_a_message_changed_event_carries_the_whole_message_after_the_change() -> None:
    changed = dataclasses.replace(TEXT, version=3, edited_at=WHEN, text="fixed")
    expected = {"type": "message_changed", "message": wire.message(changed)}
    assert json.loads(wire.message_changed_event(changed)) == expected


def test_a_message_in_json_has_the_v2_fields() -> None:
    reply = ReplyRef(2, BOB, "text", "the original", False)
    message = dataclasses.replace(
        TEXT, version=4, edited_at=WHEN, reply_to=reply, reactions=(Reaction("👍", (ANA, BOB)),), mentions=(BOB,)
    )
    shown = wire.message(message)
    assert (shown["version"], shown["edited_at"], shown["deleted"]) == (4, "2025-01-02T03:04:05.678Z", False)
    assert shown["reply_to"] == {"seq": 2, "user": {"id": 2, "username": "Bob"}, "kind": "text",
                                 "text": "the original", "deleted": False}
    both = [{"id": 1, "username": "ana"}, {"id": 2, "username": "Bob"}]
    assert shown["reactions"] == [{"emoji": "👍", "users": both}]
    assert shown["mentions"] == [{"id": 2, "username": "Bob"}]


def test_a_presence_snapshot_is_the_whole_online_list_in_its_order() -> None:
    view = PresenceView.of({BOB.id: BOB, ANA.id: ANA})
    assert json.loads(presence_snapshot(7, view.users)) == {
        "type": "presence", "group_id": 7, "online": [{"id": 1, "username": "ana"}, {"id": 2, "username": "Bob"}],
    }


def test_a_membership_event_carries_the_group_and_whether_the_user_joined() -> None:
    assert json.loads(membership_event(GROUP, True)) == {
        "type": "membership", "group_id": 7, "joined": True, "group": wire.group(GROUP),
    }


def test_an_ended_membership_says_who_removed_the_user_and_whether_they_are_banned() -> None:
    left, removed = GROUP, dataclasses.replace(GROUP, joined=False, role=None, removed_by=BOB, banned=True)
    assert json.loads(membership_event(left, False)) == {
        "type": "membership", "group_id": 7, "joined": False, "group": wire.group(left),
        "removed_by": None, "banned": False,
    }
    assert json.loads(membership_event(removed, False))["removed_by"] == {"id": 2, "username": "Bob"}
    assert json.loads(membership_event(removed, False))["banned"] is True


def test_a_group_changed_entry_is_made_each_members_own_as_it_reaches_them() -> None:
    logged = wire.group_changed_event(dataclasses.replace(GROUP, joined=False, role=None))
    assert json.loads(wire.as_seen_by(logged, "moderator"))["group"] == wire.group(
        dataclasses.replace(GROUP, role="moderator")
    )
    member_changed = wire.member_changed_event(7, Member(BOB, "moderator", WHEN))
    assert wire.as_seen_by(member_changed, "member") == member_changed


def test_events_keep_non_ascii_text_as_is() -> None:
    assert "Café" in membership_event(GROUP, True)


# Answers


def test_a_poll_answer_splices_the_encoded_events_into_one_json_object() -> None:
    events = [wire.typing_event(7, ANA), wire.presence_change(7, [BOB], [ANA])]
    assert json.loads(wire.poll_answer("c1.ab.3.", events)) == {
        "cursor": "c1.ab.3.",
        "events": [
            {"type": "typing", "group_id": 7, "user": {"id": 1, "username": "ana"}},
            {"type": "presence", "group_id": 7, "came": [{"id": 2, "username": "Bob"}],
             "went": [{"id": 1, "username": "ana"}]},
        ],
    }


def test_a_poll_answer_with_no_events_is_an_empty_list() -> None:
    assert json.loads(wire.poll_answer("c1.ab.3.", [])) == {"cursor": "c1.ab.3.", "events": []}


def test_an_error_is_a_code_for_programs_and_a_message_for_people() -> None:
    assert json.loads(wire.error("not_member", "join the group first")) == {
        "error": {"code": "not_member", "message": "join the group first"}
    }


def test_a_change_between_processes_names_its_origin_and_kind() -> None:
    assert json.loads(wire.change("p1", "typing", {"group_id": 7})) == {
        "origin": "p1", "kind": "typing", "body": {"group_id": 7}
    }


def test_a_member_event_names_the_group_the_user_and_whether_they_joined() -> None:
    assert json.loads(wire.member_event(7, BOB, False)) == {
        "type": "member", "group_id": 7, "user": {"id": 2, "username": "Bob"}, "joined": False,
    }
