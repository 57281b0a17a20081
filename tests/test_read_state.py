"""Read state on the server: how far each member has read, the unread counts, notification
levels, and the ``read`` events that keep every device of a user on the same counts."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import pytest

from .support.database import query
from .support.http import Account, Client
from .support.servers import StartServer
from .test_changes import delete
from .test_events import collect, of_type

READ_KEYS = ("last_read_seq", "unread", "unread_mentions", "notify")


async def pair(client: Client) -> tuple[Account, Account, dict[str, Any]]:
    """Ana's group, with Bob in it."""
    ana, bob = await client.register("ana"), await client.register("bob")
    group = await client.create_group(ana)
    await client.join(bob, group["id"])
    return ana, bob, group


async def said(client: Client, account: Account, group_id: int, text: str) -> int:
    r = await client.send(account, group_id, text)
    assert r.status == 201, r.body
    return r.json["message"]["seq"]


async def read_of(client: Client, account: Account, group_id: int) -> dict[str, Any]:
    """The group's read fields as ``GET /api/me`` answers them."""
    r = await client.request("GET", "/api/me", token=account.token)
    assert r.status == 200, r.body
    (group,) = [g for g in r.json["groups"] if g["id"] == group_id]
    return {key: group[key] for key in READ_KEYS}


async def mark(client: Client, account: Account, group_id: int, seq: Any) -> Any:
    return await client.request("PUT", f"/api/groups/{group_id}/read", {"seq": seq}, token=account.token)


def reads(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: e[k] for k in ("group_id", *READ_KEYS)} for e in of_type(events, "read")]


async def test_a_joined_groups_object_carries_the_read_state_and_a_group_not_joined_nulls(client: Client) -> None:
    ana, bob, group = await pair(client)
    stranger = await client.register("eve")
    assert await read_of(client, bob, group["id"]) == {
        "last_read_seq": 0, "unread": 0, "unread_mentions": 0, "notify": "all"}
    listed = await client.request("GET", "/api/groups", token=stranger.token)
    (seen,) = [g for g in listed.json["groups"] if g["id"] == group["id"]]
    assert [seen[key] for key in READ_KEYS] == [None] * 4


async def test_unread_counts_others_messages_after_the_mark_and_mentions_of_the_reader(client: Client) -> None:
    ana, bob, group = await pair(client)
    await said(client, ana, group["id"], "hello")
    await said(client, ana, group["id"], f"@{bob.username} look")
    await said(client, bob, group["id"], "my own")  # reads up to here, and is not counted
    await said(client, ana, group["id"], f"and @{bob.username} again")
    await said(client, ana, group["id"], "plain")
    assert await read_of(client, bob, group["id"]) == {
        "last_read_seq": 3, "unread": 2, "unread_mentions": 1, "notify": "all"}


async def test_a_deleted_message_is_not_unread(client: Client) -> None:
    ana, bob, group = await pair(client)
    await said(client, ana, group["id"], f"@{bob.username} oops")
    await said(client, ana, group["id"], "stays")
    assert (await delete(client, ana, group["id"], 1)).status == 204
    assert await read_of(client, bob, group["id"]) == {
        "last_read_seq": 0, "unread": 1, "unread_mentions": 0, "notify": "all"}


async def test_messages_from_before_the_join_are_never_unread(client: Client) -> None:
    ana = await client.register("ana")
    group = await client.create_group(ana)
    await said(client, ana, group["id"], "before bob")
    bob = await client.register("bob")
    await client.join(bob, group["id"])
    assert (await read_of(client, bob, group["id"]))["unread"] == 0


async def test_marking_read_answers_the_group_with_the_new_counts(client: Client) -> None:
    ana, bob, group = await pair(client)
    for text in ("one", "two", "three"):
        await said(client, ana, group["id"], text)
    r = await mark(client, bob, group["id"], 2)
    assert r.status == 200, r.body
    assert {key: r.json["group"][key] for key in READ_KEYS} == {
        "last_read_seq": 2, "unread": 1, "unread_mentions": 0, "notify": "all"}


async def test_the_mark_only_moves_forward(client: Client) -> None:
    ana, bob, group = await pair(client)
    for text in ("one", "two", "three"):
        await said(client, ana, group["id"], text)
    await mark(client, bob, group["id"], 3)
    r = await mark(client, bob, group["id"], 1)
    assert r.status == 200 and r.json["group"]["last_read_seq"] == 3


async def test_the_mark_is_clamped_to_the_newest_message(client: Client) -> None:
    ana, bob, group = await pair(client)
    await said(client, ana, group["id"], "only one")
    r = await mark(client, bob, group["id"], 10**12)
    assert (r.json["group"]["last_read_seq"], r.json["group"]["unread"]) == (1, 0)
    await said(client, ana, group["id"], "a second")
    assert (await read_of(client, bob, group["id"]))["unread"] == 1


@pytest.mark.parametrize("seq", ["3", -1, 1.5, True, None, [1], {"seq": 1}, 2**63])
async def test_a_seq_that_is_not_a_non_negative_integer_gets_400_invalid_seq_and_changes_nothing(
    client: Client, seq: Any
) -> None:
    ana, bob, group = await pair(client)
    await said(client, ana, group["id"], "unread")
    r = await mark(client, bob, group["id"], seq)
    assert (r.status, r.error_code) == (400, "invalid_seq")
    assert (await read_of(client, bob, group["id"]))["last_read_seq"] == 0


async def test_only_a_member_marks_a_group_read(client: Client) -> None:
    ana, bob, group = await pair(client)
    stranger = await client.register("eve")
    private = await client.request("POST", "/api/groups", {"name": f"p{group['id']}x", "kind": "private"},
                                   token=ana.token)
    assert [(r.status, r.error_code) for r in [
        await mark(client, stranger, group["id"], 1), await mark(client, stranger, private.json["group"]["id"], 1),
    ]] == [(403, "not_member"), (404, "group_not_found")]


async def test_sending_reads_the_group_up_to_the_message_sent(client: Client) -> None:
    ana, bob, group = await pair(client)
    await said(client, ana, group["id"], "one")
    await said(client, ana, group["id"], "two")
    seq = await said(client, bob, group["id"], "read them, replying")
    assert await read_of(client, bob, group["id"]) == {
        "last_read_seq": seq, "unread": 0, "unread_mentions": 0, "notify": "all"}


async def test_a_moved_mark_reaches_every_poll_of_the_user_and_no_one_elses(client: Client) -> None:
    ana, bob, group = await pair(client)
    await said(client, ana, group["id"], "one")
    await said(client, ana, group["id"], "two")
    phone, laptop, others = await client.cursor(bob), await client.cursor(bob), await client.cursor(ana)
    await mark(client, bob, group["id"], 1)
    expected = [{"group_id": group["id"], "last_read_seq": 1, "unread": 1, "unread_mentions": 0, "notify": "all"}]
    for cursor in (phone, laptop):
        events, _ = await collect(client, bob, cursor, lambda ev: bool(of_type(ev, "read")))
        assert reads(events) == expected
    events, _ = await collect(client, ana, others, lambda ev: False, limit=0.5)
    assert reads(events) == []


async def test_a_mark_that_does_not_move_sends_no_event(client: Client) -> None:
    ana, bob, group = await pair(client)
    await said(client, ana, group["id"], "one")
    await mark(client, bob, group["id"], 1)
    cursor = await client.cursor(bob)
    await mark(client, bob, group["id"], 1)
    events, _ = await collect(client, bob, cursor, lambda ev: False, limit=0.5)
    assert reads(events) == []


async def test_a_notification_level_is_set_with_patch_membership_and_reaches_the_users_other_devices(
    client: Client,
) -> None:
    ana, bob, group = await pair(client)
    other_device = await client.cursor(bob)
    r = await client.request("PATCH", f"/api/groups/{group['id']}/membership", {"notify": "mentions"},
                             token=bob.token)
    assert r.status == 200 and r.json["group"]["notify"] == "mentions", r.body
    events, _ = await collect(client, bob, other_device, lambda ev: bool(of_type(ev, "read")))
    assert [e["notify"] for e in of_type(events, "read")] == ["mentions"]
    assert (await read_of(client, bob, group["id"]))["notify"] == "mentions"


@pytest.mark.parametrize("level", ["ALL", "muted", "", None, 1, ["all"]])
async def test_an_unknown_level_gets_400_invalid_notify_and_changes_nothing(client: Client, level: Any) -> None:
    ana, bob, group = await pair(client)
    r = await client.request("PATCH", f"/api/groups/{group['id']}/membership", {"notify": level}, token=bob.token)
    assert (r.status, r.error_code) == (400, "invalid_notify")
    assert (await read_of(client, bob, group["id"]))["notify"] == "all"


def apply(state: dict[str, Any], events: list[dict[str, Any]], me: int, group_id: int) -> None:
    """What a client does with the events, as the contract says: a ``read`` event sets the
    counts; between two, a new message by someone else after the mark adds one (and one mention
    if it mentions me), and a change that deletes such a message takes it away (the client
    remembers whether it mentioned me: a tombstone has no mentions)."""
    seen: dict[int, tuple[int, bool]] = state.setdefault("seen", {})  # seq -> (author, mentions me)
    for event in events:
        if event["type"] == "read" and event["group_id"] == group_id:
            state.update({key: event[key] for key in READ_KEYS})
        elif event["type"] == "message" and event["message"]["group_id"] == group_id:
            message = event["message"]
            seen[message["seq"]] = (message["user"]["id"], any(u["id"] == me for u in message["mentions"]))
            if message["user"]["id"] != me and message["seq"] > state["last_read_seq"]:
                state["unread"] += 1
                state["unread_mentions"] += seen[message["seq"]][1]
        elif event["type"] == "message_changed" and event["message"]["deleted"]:
            author, mentions_me = seen.pop(event["message"]["seq"], (me, False))
            if author != me and event["message"]["seq"] > state["last_read_seq"]:
                state["unread"] -= 1
                state["unread_mentions"] -= mentions_me


async def test_a_client_applying_the_events_in_order_always_has_the_counts_the_server_answers(
    client: Client,
) -> None:
    """Zulip's verify_action: after each step, the state built from the events a client
    received equals a fresh fetch."""
    ana, bob, group = await pair(client)
    gid = group["id"]
    cursor = await client.cursor(bob)
    state = await read_of(client, bob, gid)
    steps = [
        lambda: said(client, ana, gid, "one"),
        lambda: said(client, ana, gid, f"@{bob.username} two"),
        lambda: mark(client, bob, gid, 1),
        lambda: said(client, ana, gid, f"@{bob.username} three"),
        lambda: delete(client, ana, gid, 2),
        lambda: said(client, bob, gid, "mine reads all"),
        lambda: said(client, ana, gid, "five"),
        lambda: delete(client, ana, gid, 5),
        lambda: client.request("PATCH", f"/api/groups/{gid}/membership", {"notify": "none"}, token=bob.token),
        lambda: said(client, ana, gid, f"@{bob.username} six"),
        lambda: mark(client, bob, gid, 6),
    ]
    def counts(of: dict[str, Any]) -> dict[str, Any]:
        return {key: of[key] for key in READ_KEYS}

    for step in steps:
        await step()
        fresh = await read_of(client, bob, gid)

        def caught_up(events: list[dict[str, Any]], fresh: dict[str, Any] = fresh) -> bool:
            trial = copy.deepcopy(state)
            apply(trial, events, bob.id, gid)
            return counts(trial) == fresh

        events, cursor = await collect(client, bob, cursor, caught_up, limit=3.0)
        apply(state, events, bob.id, gid)
        assert counts(state) == fresh


async def test_marks_made_together_are_written_together(start_server: StartServer) -> None:
    """A crowd marking read at once costs a few statements, not one per member."""
    server = await start_server(presence_sweep_interval=3600, presence_refresh_interval=3600)
    client = server.client()
    ana = await client.register("ana")
    group = await client.create_group(ana)
    crowd = [await client.register("m") for _ in range(30)]
    for member in crowd:
        await client.join(member, group["id"])
    await said(client, ana, group["id"], "read me")
    def multi_table_updates() -> int:  # a batch of marks is one such UPDATE (so is a send)
        return int(query(server.settings.database, "SHOW GLOBAL STATUS LIKE 'Com_update_multi'")[0][1])

    before = multi_table_updates()
    answers = await asyncio.gather(*(mark(client, m, group["id"], 1) for m in crowd))
    assert [a.json["group"]["last_read_seq"] for a in answers] == [1] * len(crowd)
    assert multi_table_updates() - before <= 2  # one batch, or two if the crowd straddled a batch's end


async def test_a_group_that_arrives_by_a_membership_event_counts_from_there_like_the_server(client: Client) -> None:
    """The membership event's group has nothing unread yet: its messages follow it, and a
    client that counts them ends with what the server answers."""
    ana, bob = await client.register("ana"), await client.register("bob")
    cursor = await client.cursor(bob)
    chat = (await client.request("PUT", f"/api/direct/{bob.username}", token=ana.token)).json["group"]
    await said(client, ana, chat["id"], "hello")
    await said(client, ana, chat["id"], f"@{bob.username} are you there")
    fresh = await read_of(client, bob, chat["id"])
    events, _ = await collect(client, bob, cursor, lambda ev: len(of_type(ev, "message")) >= 2)
    (arrived,) = of_type(events, "membership")
    state = {key: arrived["group"][key] for key in READ_KEYS}
    apply(state, events, bob.id, chat["id"])
    assert {key: state[key] for key in READ_KEYS} == fresh == {
        "last_read_seq": 0, "unread": 2, "unread_mentions": 1, "notify": "all"}
