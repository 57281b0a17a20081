"""Messages that change: edit, delete, reply and react (the contract's "Messages change"),
delivered like messages: to every member who may see them, exactly once, in order."""

from __future__ import annotations

import asyncio
import urllib.parse
from typing import Any

import pytest

from .support.database import query
from .support.http import Account, Client, Response
from .support.servers import Server, StartServer
from .test_events import collect, of_type
from .test_images import encode, fetch, noise, upload

Event = dict[str, Any]


async def pair(client: Client) -> tuple[Account, Account, int]:
    ana, bob = await client.register(), await client.register()
    group = await client.create_group(ana)
    await client.join(bob, group["id"])
    return ana, bob, group["id"]


async def sent(client: Client, account: Account, group_id: int, text: str, **extra: Any) -> dict[str, Any]:
    r = await client.request("POST", f"/api/groups/{group_id}/messages", {"text": text, **extra}, token=account.token)
    assert r.status == 201, r.body
    return r.json["message"]


async def edit(client: Client, account: Account, group_id: int, seq: int | str, text: Any) -> Response:
    return await client.request("PATCH", f"/api/groups/{group_id}/messages/{seq}", {"text": text}, token=account.token)


async def delete(client: Client, account: Account, group_id: int, seq: int | str) -> Response:
    return await client.request("DELETE", f"/api/groups/{group_id}/messages/{seq}", token=account.token)


async def react(
    client: Client, account: Account, group_id: int, seq: int | str, emoji: str, add: bool = True
) -> Response:
    path = f"/api/groups/{group_id}/messages/{seq}/reactions/{urllib.parse.quote(emoji, safe='')}"
    return await client.request("PUT" if add else "DELETE", path, token=account.token)


async def history(client: Client, account: Account, group_id: int) -> list[dict[str, Any]]:
    r = await client.request("GET", f"/api/groups/{group_id}/messages?limit=200", token=account.token)
    assert r.status == 200, r.body
    return r.json["messages"]


def changed(events: list[Event]) -> list[dict[str, Any]]:
    return [e["message"] for e in of_type(events, "message_changed")]


def latest_by_id(events: list[Event], known: dict[int, dict[str, Any]] | None = None) -> dict[int, dict[str, Any]]:
    """What a client that keeps, for each message, the object with the highest version ends with."""
    state = dict(known or {})
    for event in events:
        if event["type"] in ("message", "message_changed"):
            message = event["message"]
            if message["id"] not in state or state[message["id"]]["version"] < message["version"]:
                state[message["id"]] = message
    return state


def without_reply(messages: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """The contract's one exception: reply_to shows the original as it is now."""
    return {i: {k: v for k, v in m.items() if k != "reply_to"} for i, m in messages.items()}


# Edit


async def test_the_author_edits_a_text_message_and_its_version_moves_on(client: Client) -> None:
    ana, _, group_id = await pair(client)
    message = await sent(client, ana, group_id, "helo")
    r = await edit(client, ana, group_id, message["seq"], "hello")
    assert r.status == 200, r.body
    edited = r.json["message"]
    assert (edited["text"], edited["version"]) == ("hello", 2)
    assert (edited["id"], edited["seq"]) == (message["id"], message["seq"])
    assert edited["edited_at"] is not None
    assert (await history(client, ana, group_id))[-1] == edited


async def test_an_edit_reaches_every_member_and_the_editor_as_message_changed(client: Client) -> None:
    ana, bob, group_id = await pair(client)
    message = await sent(client, ana, group_id, "draft")
    cursors = {a.id: await client.cursor(a) for a in (ana, bob)}
    await edit(client, ana, group_id, message["seq"], "final")
    for account in (ana, bob):
        events, _ = await collect(client, account, cursors[account.id], lambda ev: bool(changed(ev)))
        assert [(m["text"], m["version"]) for m in changed(events)] == [("final", 2)]


async def test_only_its_author_may_edit_a_message(client: Client) -> None:
    ana, bob, group_id = await pair(client)
    message = await sent(client, ana, group_id, "mine")
    r = await edit(client, bob, group_id, message["seq"], "yours now")
    assert (r.status, r.error_code) == (403, "not_author")
    assert (await history(client, ana, group_id))[-1] == message


async def test_an_image_message_cannot_be_edited(client: Client) -> None:
    ana, _, group_id = await pair(client)
    r = await upload(client, ana, group_id, encode(noise((8, 8)), "PNG"))
    assert r.status == 201, r.body
    r = await edit(client, ana, group_id, r.json["message"]["seq"], "a caption")
    assert (r.status, r.error_code) == (409, "not_editable")


async def test_editing_to_the_same_text_changes_nothing(client: Client) -> None:
    ana, bob, group_id = await pair(client)
    message = await sent(client, ana, group_id, "same")
    cursor = await client.cursor(bob)
    r = await edit(client, ana, group_id, message["seq"], "same")
    assert (r.status, r.json["message"]["version"]) == (200, 1)
    events, _ = await collect(client, bob, cursor, lambda ev: False, limit=0.5)
    assert changed(events) == []


@pytest.mark.parametrize("text", ["", "   ", None, 7, "x" * 4001, "nul\x00"], ids=["empty", "blank", "null", "number",
                                                                            "too-long", "nul"])
async def test_an_edit_follows_the_sending_rules_for_text(client: Client, text: Any) -> None:
    ana, _, group_id = await pair(client)
    message = await sent(client, ana, group_id, "kept")
    r = await edit(client, ana, group_id, message["seq"], text)
    assert (r.status, r.error_code) == (400, "invalid_text")
    assert (await history(client, ana, group_id))[-1] == message


async def test_an_edit_works_out_the_mentions_again(client: Client) -> None:
    ana, bob, group_id = await pair(client)
    outsider = await client.register()
    message = await sent(client, ana, group_id, f"hi @{bob.username}")
    assert message["mentions"] == [bob.user]
    r = await edit(client, ana, group_id, message["seq"], f"hi @{ana.username.upper()} and @{outsider.username}")
    assert r.json["message"]["mentions"] == [ana.user]


# Delete


async def test_a_deleted_message_stays_in_its_place_as_a_tombstone(client: Client) -> None:
    ana, bob, group_id = await pair(client)
    original = await sent(client, ana, group_id, "first")
    message = await sent(client, ana, group_id, f"oops @{bob.username}", reply_to=original["seq"])
    await react(client, bob, group_id, message["seq"], "👍")
    assert (await delete(client, ana, group_id, message["seq"])).status == 204
    tombstone = (await history(client, bob, group_id))[-1]
    assert (tombstone["seq"], tombstone["deleted"], tombstone["version"]) == (message["seq"], True, 3)
    assert (tombstone["text"], tombstone["image"], tombstone["reply_to"]) == (None, None, None)
    assert (tombstone["reactions"], tombstone["mentions"]) == ([], [])


async def test_deleting_an_image_message_erases_its_bytes(client: Client, server: Server) -> None:
    ana, bob, group_id = await pair(client)
    r = await upload(client, ana, group_id, encode(noise((16, 16)), "PNG"))
    message = r.json["message"]
    assert (await delete(client, ana, group_id, message["seq"])).status == 204
    for account in (ana, bob):
        for url in (message["image"]["url"], message["image"]["thumb_url"]):
            assert (await fetch(client, account, url)).status == 404
    stored = query(server.settings.database, "SELECT COUNT(*) FROM images WHERE message_id = %s", (message["id"],))
    assert stored == [(0,)]


async def test_only_the_author_may_delete_a_message_for_now(client: Client) -> None:
    ana, bob, group_id = await pair(client)
    message = await sent(client, ana, group_id, "mine")
    r = await delete(client, bob, group_id, message["seq"])
    assert (r.status, r.error_code) == (403, "not_allowed")
    assert (await history(client, ana, group_id))[-1] == message


async def test_deleting_a_deleted_message_answers_204_and_changes_nothing(client: Client) -> None:
    ana, _, group_id = await pair(client)
    message = await sent(client, ana, group_id, "gone")
    await delete(client, ana, group_id, message["seq"])
    before = await history(client, ana, group_id)
    assert (await delete(client, ana, group_id, message["seq"])).status == 204
    assert await history(client, ana, group_id) == before


async def test_a_deleted_message_can_be_neither_edited_nor_reacted_to(client: Client) -> None:
    ana, bob, group_id = await pair(client)
    message = await sent(client, ana, group_id, "gone")
    await delete(client, ana, group_id, message["seq"])
    refused = [await edit(client, ana, group_id, message["seq"], "back"),
               await react(client, bob, group_id, message["seq"], "👍")]
    for r in refused:
        assert (r.status, r.error_code) == (404, "message_not_found")


# Replies


async def test_a_reply_carries_an_excerpt_of_the_message_it_answers(client: Client) -> None:
    ana, bob, group_id = await pair(client)
    original = await sent(client, ana, group_id, "x" * 300)
    reply = await sent(client, bob, group_id, "indeed", reply_to=original["seq"])
    assert reply["reply_to"] == {"seq": original["seq"], "user": ana.user, "kind": "text", "text": "x" * 200,
                                 "deleted": False}


async def test_history_shows_the_replied_to_message_as_it_is_now(client: Client) -> None:
    ana, bob, group_id = await pair(client)
    original = await sent(client, ana, group_id, "before")
    reply = await sent(client, bob, group_id, "answer", reply_to=original["seq"])
    await edit(client, ana, group_id, original["seq"], "after")
    shown = next(m for m in await history(client, bob, group_id) if m["id"] == reply["id"])
    assert (shown["reply_to"]["text"], shown["version"]) == ("after", 1)


async def test_an_image_upload_may_reply_too(client: Client) -> None:
    ana, bob, group_id = await pair(client)
    original = await sent(client, ana, group_id, "send a picture")
    r = await client.request(
        "POST", f"/api/groups/{group_id}/images", token=bob.token,
        **_multipart([("reply_to", str(original["seq"]))], encode(noise((8, 8)), "PNG")),
    )
    assert r.status == 201, r.body
    assert r.json["message"]["reply_to"]["seq"] == original["seq"]


def _multipart(fields: list[tuple[str, str]], image: bytes) -> dict[str, Any]:
    from .test_images import multipart

    body, content_type = multipart(fields, [("image", "a.png", "image/png", image)])
    return {"body": body, "headers": {"Content-Type": content_type}}


@pytest.mark.parametrize(
    "reply_to", ["1", 1.5, True, [1], {"seq": 1}], ids=["string", "float", "bool", "list", "object"]
)
async def test_a_reply_to_that_is_not_an_integer_is_refused(client: Client, reply_to: Any) -> None:
    ana, _, group_id = await pair(client)
    r = await client.request("POST", f"/api/groups/{group_id}/messages", {"text": "x", "reply_to": reply_to},
                             token=ana.token)
    assert (r.status, r.error_code) == (400, "invalid_reply_to")
    assert await history(client, ana, group_id) == []


@pytest.mark.parametrize("reply_to", [0, -1, 99, 2**70], ids=["zero", "negative", "missing", "huge"])
async def test_a_reply_to_no_message_the_sender_may_see_is_message_not_found(client: Client, reply_to: int) -> None:
    ana, _, group_id = await pair(client)
    r = await client.request("POST", f"/api/groups/{group_id}/messages", {"text": "x", "reply_to": reply_to},
                             token=ana.token)
    assert (r.status, r.error_code) == (404, "message_not_found")
    assert await history(client, ana, group_id) == []


async def test_a_reply_to_a_deleted_message_or_one_from_before_the_join_is_message_not_found(client: Client) -> None:
    ana, bob, group_id = await pair(client)
    gone = await sent(client, ana, group_id, "gone")
    await delete(client, ana, group_id, gone["seq"])
    carol = await client.register()
    earlier = await sent(client, ana, group_id, "before carol")
    await client.join(carol, group_id)
    for account, seq in ((bob, gone["seq"]), (carol, earlier["seq"])):
        r = await client.request("POST", f"/api/groups/{group_id}/messages", {"text": "x", "reply_to": seq},
                                 token=account.token)
        assert (r.status, r.error_code) == (404, "message_not_found")


# Reactions


async def test_reacting_adds_the_callers_reaction_and_removing_takes_it_away(client: Client) -> None:
    ana, bob, group_id = await pair(client)
    message = await sent(client, ana, group_id, "react to me")
    r = await react(client, bob, group_id, message["seq"], "👍")
    assert r.status == 200, r.body
    assert r.json["message"]["reactions"] == [{"emoji": "👍", "users": [bob.user]}]
    assert r.json["message"]["version"] == 2
    r = await react(client, bob, group_id, message["seq"], "👍", add=False)
    assert (r.status, r.json["message"]["reactions"], r.json["message"]["version"]) == (200, [], 3)


async def test_reacting_twice_or_removing_what_is_not_there_changes_nothing(client: Client) -> None:
    ana, bob, group_id = await pair(client)
    message = await sent(client, ana, group_id, "once")
    await react(client, bob, group_id, message["seq"], "🎉")
    again = await react(client, bob, group_id, message["seq"], "🎉")
    absent = await react(client, bob, group_id, message["seq"], "😀", add=False)
    assert (again.status, again.json["message"]["version"]) == (200, 2)
    assert (absent.status, absent.json["message"]["version"]) == (200, 2)


async def test_reactions_keep_the_order_emoji_were_first_used_and_users_reacted(client: Client) -> None:
    ana, bob, group_id = await pair(client)
    message = await sent(client, ana, group_id, "order")
    for account, emoji in ((bob, "👍"), (ana, "❤️"), (ana, "👍")):
        await react(client, account, group_id, message["seq"], emoji)
    reactions = (await history(client, ana, group_id))[-1]["reactions"]
    assert reactions == [{"emoji": "👍", "users": [bob.user, ana.user]}, {"emoji": "❤️", "users": [ana.user]}]


async def test_a_heart_with_and_without_its_emoji_selector_is_one_reaction(client: Client) -> None:
    ana, bob, group_id = await pair(client)
    message = await sent(client, ana, group_id, "love")
    await react(client, ana, group_id, message["seq"], "\u2764")
    r = await react(client, bob, group_id, message["seq"], "\u2764\ufe0f")
    assert r.json["message"]["reactions"] == [{"emoji": "\u2764\ufe0f", "users": [ana.user, bob.user]}]


@pytest.mark.parametrize("emoji", ["a", "👍👍", "🏽", "\u2764\ufe0e", "👍 ", "x" * 5000, "%FF"],
                         ids=["letter", "two", "lone-modifier", "text-presentation", "space", "long", "not-utf8"])
async def test_anything_but_one_emoji_is_refused(client: Client, emoji: str) -> None:
    ana, _, group_id = await pair(client)
    message = await sent(client, ana, group_id, "x")
    quoted = emoji if emoji == "%FF" else urllib.parse.quote(emoji, safe="")
    r = await client.request("PUT", f"/api/groups/{group_id}/messages/{message['seq']}/reactions/{quoted}",
                             token=ana.token)
    assert (r.status, r.error_code) == (400, "invalid_emoji")
    assert (await history(client, ana, group_id))[-1]["version"] == 1


async def test_a_message_has_at_most_20_different_emoji(client: Client) -> None:
    ana, bob, group_id = await pair(client)
    message = await sent(client, ana, group_id, "popular")
    emoji = [chr(0x1F600 + i) for i in range(21)]
    for e in emoji[:20]:
        assert (await react(client, ana, group_id, message["seq"], e)).status == 200
    r = await react(client, bob, group_id, message["seq"], emoji[20])
    assert (r.status, r.error_code) == (409, "too_many_reactions")
    assert (await react(client, bob, group_id, message["seq"], emoji[0])).status == 200  # a used one is fine


# Who may act


async def test_a_member_gets_message_not_found_for_a_message_from_before_their_join(client: Client) -> None:
    ana, _, group_id = await pair(client)
    early = await sent(client, ana, group_id, "before carol")
    carol = await client.register()
    await client.join(carol, group_id)
    refused = [await edit(client, carol, group_id, early["seq"], "x"),
               await delete(client, carol, group_id, early["seq"]),
               await react(client, carol, group_id, early["seq"], "👍")]
    for r in refused:
        assert (r.status, r.error_code) == (404, "message_not_found")


@pytest.mark.parametrize("seq", ["999", "0", "abc", "-1", "1.5", "99999999999999999999999"])
async def test_a_seq_that_names_no_message_is_message_not_found(client: Client, seq: str) -> None:
    ana, _, group_id = await pair(client)
    await sent(client, ana, group_id, "only one")
    for r in (await edit(client, ana, group_id, seq, "x"), await delete(client, ana, group_id, seq),
              await react(client, ana, group_id, seq, "👍")):
        assert (r.status, r.error_code) == (404, "message_not_found")


async def test_a_non_member_gets_not_member_and_a_missing_group_group_not_found(client: Client) -> None:
    ana, _, group_id = await pair(client)
    message = await sent(client, ana, group_id, "members only")
    stranger = await client.register()
    r = await edit(client, stranger, group_id, message["seq"], "x")
    assert (r.status, r.error_code) == (403, "not_member")
    r = await react(client, stranger, 10**12, 1, "👍")
    assert (r.status, r.error_code) == (404, "group_not_found")


# Exactly once, in order


async def test_concurrent_changes_reach_every_listener_exactly_once_and_end_as_history(client: Client) -> None:
    ana, bob, group_id = await pair(client)
    carol = await client.register()
    await client.join(carol, group_id)
    messages = [await sent(client, ana, group_id, f"m{i}") for i in range(4)]
    cursors = {a.id: await client.cursor(a) for a in (ana, bob, carol)}
    stale = {m["id"]: m for m in messages}

    async def changes_by(account: Account, emoji: str) -> None:
        for message in messages:
            await react(client, account, group_id, message["seq"], emoji)
            if account.id == ana.id:
                await edit(client, ana, group_id, message["seq"], message["text"] + " (edited)")

    await asyncio.gather(changes_by(ana, "👍"), changes_by(bob, "🎉"), changes_by(carol, "👍"))
    final = {m["id"]: m for m in await history(client, ana, group_id)}
    total = sum(m["version"] - 1 for m in final.values())
    for account in (ana, bob, carol):
        events, _ = await collect(client, account, cursors[account.id], lambda ev: len(changed(ev)) >= total)
        versions = [(m["id"], m["version"]) for m in changed(events)]
        assert len(versions) == len(set(versions)) == total  # every change once
        for message_id in stale:
            seen = [v for i, v in versions if i == message_id]
            assert seen == sorted(seen) == list(range(2, final[message_id]["version"] + 1))
        assert without_reply(latest_by_id(events, stale)) == without_reply(final)


async def test_concurrent_edits_by_the_author_on_two_devices_last_write_wins(client: Client) -> None:
    ana, bob, group_id = await pair(client)
    message = await sent(client, ana, group_id, "v1")
    cursor = await client.cursor(bob)
    answers = await asyncio.gather(*(edit(client, ana, group_id, message["seq"], f"device {i}") for i in range(2)))
    assert sorted(a.json["message"]["version"] for a in answers) == [2, 3]
    last = max((a.json["message"] for a in answers), key=lambda m: m["version"])
    assert (await history(client, bob, group_id))[-1]["text"] == last["text"]
    events, _ = await collect(client, bob, cursor, lambda ev: len(changed(ev)) >= 2)
    assert [(m["version"], m["text"]) for m in changed(events)] == sorted(
        (a.json["message"]["version"], a.json["message"]["text"]) for a in answers)


async def test_reacting_and_deleting_at_once_ends_as_a_tombstone_with_no_reactions(client: Client) -> None:
    ana, bob, group_id = await pair(client)
    for round_ in range(5):
        message = await sent(client, ana, group_id, f"race {round_}")
        reacted, deleted = await asyncio.gather(
            react(client, bob, group_id, message["seq"], "👍"), delete(client, ana, group_id, message["seq"])
        )
        assert deleted.status == 204
        assert (reacted.status, reacted.error_code) in ((200, None), (404, "message_not_found"))
        shown = (await history(client, ana, group_id))[-1]
        assert (shown["deleted"], shown["reactions"]) == (True, [])


async def test_a_listener_resuming_from_a_cursor_older_than_memory_gets_every_change_once(
    start_server: StartServer,
) -> None:
    server = await start_server()
    client = server.client()
    ana, bob, group_id = await pair(client)
    early = await sent(client, ana, group_id, "early")
    cursor = await client.cursor(bob)
    for i in range(150):  # more log entries than a channel keeps (256) once each counts twice
        message = await sent(client, ana, group_id, f"n{i}")
        await react(client, ana, group_id, message["seq"], "👍")
    await edit(client, ana, group_id, early["seq"], "early, edited")
    await react(client, bob, group_id, early["seq"], "🎉")
    events, _ = await collect(
        client, bob, cursor, lambda ev: len(of_type(ev, "message")) >= 150 and len(changed(ev)) >= 152
    )
    seqs = [e["message"]["seq"] for e in of_type(events, "message")]
    assert seqs == sorted(seqs) and len(seqs) == 150
    versions = [(m["id"], m["version"]) for m in changed(events)]
    assert len(versions) == len(set(versions)) == 152
    final = {m["id"]: m for m in await history(client, bob, group_id)}
    assert without_reply(latest_by_id(events, {early["id"]: early})) == without_reply(final)


async def test_waking_many_waiters_for_a_change_costs_no_statement_per_waiter(start_server: StartServer) -> None:
    server = await start_server(presence_sweep_interval=3600, presence_refresh_interval=3600)
    client = server.client()
    ana, _, group_id = await pair(client)
    listeners = []
    for _ in range(20):
        account = await client.register()
        await client.join(account, group_id)
        listeners.append(account)
    message = await sent(client, ana, group_id, "react here")
    cursors = [await client.cursor(a) for a in listeners]
    cursors = [(await client.poll(a, c, timeout=0)).json["cursor"] for a, c in zip(listeners, cursors, strict=True)]

    def statements() -> int:
        return int(query(server.settings.database, "SHOW GLOBAL STATUS LIKE 'Questions'")[0][1])

    await react(client, ana, group_id, message["seq"], "👀")  # its first change also logs its first version
    before = statements()
    await react(client, ana, group_id, message["seq"], "🙂")
    alone = statements() - before
    await asyncio.sleep(0.3)  # everyone's arrival is written and announced
    cursors = [(await client.poll(a, c, timeout=0)).json["cursor"] for a, c in zip(listeners, cursors, strict=True)]
    waiting = [asyncio.create_task(client.poll(a, c, timeout=20)) for a, c in zip(listeners, cursors, strict=True)]
    await server.parked(len(listeners))
    before = statements()
    await react(client, ana, group_id, message["seq"], "😎")
    answers = await asyncio.gather(*waiting)
    with_waiters = statements() - before
    assert all(changed(a.json["events"]) for a in answers)
    assert with_waiters <= alone + 1, f"{with_waiters} statements with {len(listeners)} waiters, {alone} alone"
