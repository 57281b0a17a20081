"""Text messages: sending, seq, text rules, client_id retries, bad bodies, history and its limits."""

from __future__ import annotations

import asyncio
import datetime
import json
import re
from typing import Any

import pytest

from .support.database import query
from .support.http import Account, Client
from .support.servers import Server, StartServer

ISO_UTC_MS = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z\Z")
MESSAGE_KEYS = {"id", "group_id", "seq", "user", "kind", "text", "image", "created_at", "client_id",
                "version", "edited_at", "deleted", "reply_to", "reactions", "mentions"}
MISSING = object()  # a request body without the field at all


def stored(server: Server, group_id: int) -> list[tuple[Any, ...]]:
    """The group's stored messages as (seq, user_id, body, client_id), by seq."""
    return query(server.settings.database,
                 "SELECT seq, user_id, body, client_id FROM messages WHERE group_id = %s ORDER BY seq", (group_id,))


def message_count(server: Server) -> int:
    return query(server.settings.database, "SELECT COUNT(*) FROM messages")[0][0]


async def history(client: Client, account: Account, group_id: int, query_string: str = "") -> list[dict[str, Any]]:
    r = await client.request("GET", f"/api/groups/{group_id}/messages{query_string}", token=account.token)
    assert r.status == 200, r.body
    assert set(r.json) == {"messages"}
    return r.json["messages"]


async def post(client: Client, account: Account, group_id: int, payload: dict[str, Any]) -> Any:
    return await client.request("POST", f"/api/groups/{group_id}/messages", payload, token=account.token)


async def member_pair(client: Client) -> tuple[Account, Account, int]:
    """Two users in one new group: the creator and a member."""
    ana, bob = await client.register(), await client.register()
    group = await client.create_group(ana)
    await client.join(bob, group["id"])
    return ana, bob, group["id"]


# Sending


async def test_send_returns_201_with_the_message_object(client: Client, server: Server) -> None:
    ana = await client.register()
    group = await client.create_group(ana)
    r = await client.send(ana, group["id"], "hello")
    assert r.status == 201
    assert set(r.json) == {"message"}
    message = r.json["message"]
    assert set(message) == MESSAGE_KEYS
    assert isinstance(message["id"], int)
    assert {k: v for k, v in message.items() if k not in ("id", "created_at")} == {
        "group_id": group["id"], "seq": 1, "user": ana.user, "kind": "text", "text": "hello", "image": None,
        "client_id": None, "version": 1, "edited_at": None, "deleted": False, "reply_to": None, "reactions": [],
        "mentions": [],
    }
    assert ISO_UTC_MS.match(message["created_at"]), message["created_at"]
    created = datetime.datetime.fromisoformat(message["created_at"].replace("Z", "+00:00"))
    assert abs(created - datetime.datetime.now(datetime.UTC)) < datetime.timedelta(seconds=60)
    assert stored(server, group["id"]) == [(1, ana.id, "hello", None)]
    assert await history(client, ana, group["id"]) == [message]


async def test_send_with_a_client_id_returns_it_in_the_message(client: Client) -> None:
    ana = await client.register()
    group = await client.create_group(ana)
    r = await client.send(ana, group["id"], "hi", client_id="tab-1:0001")
    assert r.status == 201
    assert r.json["message"]["client_id"] == "tab-1:0001"
    assert (await history(client, ana, group["id"]))[0]["client_id"] == "tab-1:0001"


async def test_seq_counts_1_2_3_without_gaps_in_each_group(client: Client, server: Server) -> None:
    ana, bob, first = await member_pair(client)
    second = (await client.create_group(bob))["id"]
    seqs: dict[int, list[int]] = {first: [], second: []}
    for i, (sender, group_id) in enumerate([(ana, first), (bob, first), (bob, second), (ana, first), (bob, second)]):
        r = await client.send(sender, group_id, f"m{i}")
        assert r.status == 201
        seqs[group_id].append(r.json["message"]["seq"])
    assert seqs == {first: [1, 2, 3], second: [1, 2]}
    assert [row[0] for row in stored(server, first)] == [1, 2, 3]
    assert [row[0] for row in stored(server, second)] == [1, 2]


async def test_concurrent_senders_get_distinct_seqs_forming_1_to_n(client: Client, server: Server) -> None:
    ana = await client.register()
    group_id = (await client.create_group(ana))["id"]
    others = list(await asyncio.gather(*(client.register() for _ in range(3))))
    for other in others:
        await client.join(other, group_id)
    senders = [ana, *others]
    n = 60
    answers = await asyncio.gather(*(client.send(senders[i % 4], group_id, f"burst {i}") for i in range(n)))
    assert [r.status for r in answers] == [201] * n
    seqs = sorted(r.json["message"]["seq"] for r in answers)
    assert seqs == list(range(1, n + 1))
    assert len({r.json["message"]["id"] for r in answers}) == n
    rows = stored(server, group_id)
    assert [row[0] for row in rows] == list(range(1, n + 1))
    by_text = {r.json["message"]["text"]: r.json["message"]["seq"] for r in answers}
    assert {row[2]: row[0] for row in rows} == by_text
    assert [m["seq"] for m in await history(client, ana, group_id, "?limit=200")] == list(range(1, n + 1))


async def test_seq_has_no_gaps_whichever_server_process_stores_the_message(
    start_server: StartServer, server: Server
) -> None:
    other = await start_server()
    here, there = server.client(), other.client()
    ana = await here.register()
    bob = await there.register()
    group_id = (await here.create_group(ana))["id"]
    await there.join(bob, group_id)
    n = 40
    answers = await asyncio.gather(*(
        here.send(ana, group_id, f"here {i}") if i % 2 else there.send(bob, group_id, f"there {i}") for i in range(n)
    ))
    assert [r.status for r in answers] == [201] * n
    assert sorted(r.json["message"]["seq"] for r in answers) == list(range(1, n + 1))
    rows = query(server.settings.database,
                 "SELECT seq, created_at FROM messages WHERE group_id = %s ORDER BY seq", (group_id,))
    assert [row[0] for row in rows] == list(range(1, n + 1))
    stamps = [row[1] for row in rows]
    assert stamps == sorted(stamps), "seq must follow the order in which messages were stored"
    seen_here = [m["seq"] for m in await history(here, bob, group_id, "?limit=200")]
    seen_there = [m["seq"] for m in await history(there, ana, group_id, "?limit=200")]
    assert seen_here == seen_there == list(range(1, n + 1))


# Text


async def test_text_is_stored_trimmed(client: Client, server: Server) -> None:
    ana = await client.register()
    group_id = (await client.create_group(ana))["id"]
    r = await client.send(ana, group_id, " \n\t  hello  world \r\n ")
    assert r.status == 201
    assert r.json["message"]["text"] == "hello  world"
    assert stored(server, group_id)[0][2] == "hello  world"


@pytest.mark.parametrize(
    "text",
    [
        "line one\nline two\n\n  indented line three",
        "windows\r\nline\rbreaks",
        "col\tcol\t\tcol",
        "<img src=x onerror=alert(1)>",
        "<script>alert('x')</script> &amp; &lt;b&gt; \"quoted\" 'single' \\back\\slash",
        "\U0001f600\U0001f44d\U0001f3fd \U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466 "
        "\U0001f1e7\U0001f1f7",
        "e\u0301 n\u0303 a\u0308\u0304 Z\u0351\u0352\u0353",
        "\u200fمرحبا بالعالم\u200e (hello)",
        "你好，世界。こんにちは 안녕하세요",
        "a\u200bb\u2060c\ufeffd",
        "%s %d {0} {text} $1 \\u0041 NULL",
    ],
    ids=[
        "newlines", "crlf", "tabs", "html", "markup", "emoji", "combining", "rtl", "cjk", "invisible", "format-strings",
    ],
)
async def test_text_is_stored_and_shown_verbatim(client: Client, server: Server, text: str) -> None:
    ana, bob, group_id = await member_pair(client)
    r = await client.send(ana, group_id, text)
    assert r.status == 201, r.body
    assert r.json["message"]["text"] == text
    assert [m["text"] for m in await history(client, bob, group_id)] == [text]
    assert stored(server, group_id)[0][2] == text


@pytest.mark.parametrize(
    "text",
    ["x" * 4000, "\U0001f355" * 4000, "\u4e2d" * 4000, "  " + "y" * 4000 + "\n\n", "z"],
    ids=["ascii", "4-byte-emoji", "cjk", "padded", "one-char"],
)
async def test_text_of_1_to_4000_characters_after_trimming_is_accepted(
    client: Client, server: Server, text: str
) -> None:
    ana = await client.register()
    group_id = (await client.create_group(ana))["id"]
    r = await client.send(ana, group_id, text)
    assert r.status == 201, r.body[:200]
    assert r.json["message"]["text"] == text.strip()
    assert stored(server, group_id)[0][2] == text.strip()


@pytest.mark.parametrize(
    "text",
    [
        "x" * 4001, "\U0001f355" * 4001, "", "   ", "\n\t \r\n", 42, 1.5, True, None, ["hi"], {"text": "hi"}, MISSING,
        "\ud800", "hi \udfff there", "nul\u0000inside",
    ],
    ids=[
        "4001-chars", "4001-emoji", "empty", "spaces", "whitespace", "int", "float", "bool", "null", "list", "object",
        "missing", "lone-surrogate", "lone-low-surrogate", "nul",
    ],
)
async def test_invalid_text_gets_400_and_stores_nothing(client: Client, server: Server, text: object) -> None:
    ana = await client.register()
    group_id = (await client.create_group(ana))["id"]
    before = message_count(server)
    r = await post(client, ana, group_id, {} if text is MISSING else {"text": text})
    assert (r.status, r.error_code) == (400, "invalid_text"), r.body[:200]
    assert message_count(server) == before
    assert query(server.settings.database, "SELECT last_seq FROM chat_groups WHERE id = %s", (group_id,)) == [(0,)]
    assert (await client.send(ana, group_id, "next")).json["message"]["seq"] == 1


async def test_a_raw_utf8_json_body_is_read_as_utf8_and_answered_in_utf8(client: Client, server: Server) -> None:
    ana = await client.register()
    group_id = (await client.create_group(ana))["id"]
    text = "Olá, ção! \U0001f355 中文 مرحبا"
    body = json.dumps({"text": text}, ensure_ascii=False).encode("utf-8")
    r = await client.request("POST", f"/api/groups/{group_id}/messages", body=body,
                             headers={"Content-Type": "application/json; charset=utf-8"}, token=ana.token)
    assert r.status == 201, r.body
    assert json.loads(r.body.decode("utf-8"))["message"]["text"] == text
    assert stored(server, group_id)[0][2] == text


# client_id


async def test_resending_a_client_id_returns_200_and_the_original_message(client: Client, server: Server) -> None:
    ana = await client.register()
    group_id = (await client.create_group(ana))["id"]
    first = await client.send(ana, group_id, "original", client_id="c-123")
    assert first.status == 201
    for retry_text in ("original", "edited on retry"):
        again = await client.send(ana, group_id, retry_text, client_id="c-123")
        assert again.status == 200
        assert again.json["message"] == first.json["message"]
    assert stored(server, group_id) == [(1, ana.id, "original", "c-123")]
    later = await client.send(ana, group_id, "later", client_id="c-124")
    assert (later.status, later.json["message"]["seq"]) == (201, 2)


async def test_the_same_client_id_from_another_user_is_a_new_message(client: Client, server: Server) -> None:
    ana, bob, group_id = await member_pair(client)
    first = await client.send(ana, group_id, "from ana", client_id="shared")
    second = await client.send(bob, group_id, "from bob", client_id="shared")
    assert (first.status, second.status) == (201, 201)
    assert second.json["message"]["id"] != first.json["message"]["id"]
    assert (second.json["message"]["text"], second.json["message"]["user"]) == ("from bob", bob.user)
    assert stored(server, group_id) == [(1, ana.id, "from ana", "shared"), (2, bob.id, "from bob", "shared")]


async def test_the_same_client_id_in_another_group_is_a_new_message(client: Client, server: Server) -> None:
    ana = await client.register()
    first, second = (await client.create_group(ana))["id"], (await client.create_group(ana))["id"]
    a = await client.send(ana, first, "here", client_id="shared")
    b = await client.send(ana, second, "there", client_id="shared")
    assert (a.status, b.status) == (201, 201)
    assert (b.json["message"]["group_id"], b.json["message"]["text"]) == (second, "there")
    assert stored(server, first) == [(1, ana.id, "here", "shared")]
    assert stored(server, second) == [(1, ana.id, "there", "shared")]


async def test_client_ids_differing_only_in_case_are_different(client: Client, server: Server) -> None:
    ana = await client.register()
    group_id = (await client.create_group(ana))["id"]
    assert (await client.send(ana, group_id, "a", client_id="abc")).status == 201
    assert (await client.send(ana, group_id, "b", client_id="ABC")).status == 201
    assert len(stored(server, group_id)) == 2


async def test_a_client_id_of_64_characters_is_accepted(client: Client, server: Server) -> None:
    ana = await client.register()
    group_id = (await client.create_group(ana))["id"]
    for client_id in ("k" * 64, "\U0001f511" * 64):
        r = await client.send(ana, group_id, "hi", client_id=client_id)
        assert r.status == 201, r.body
        assert r.json["message"]["client_id"] == client_id
        again = await client.send(ana, group_id, "hi", client_id=client_id)
        assert (again.status, again.json["message"]["id"]) == (200, r.json["message"]["id"])
    assert [row[3] for row in stored(server, group_id)] == ["k" * 64, "\U0001f511" * 64]


@pytest.mark.parametrize(
    "client_id",
    ["k" * 65, "\U0001f511" * 65, 7, 1.5, True, ["id"], {"id": "x"}, "\ud800"],
    ids=["65-chars", "65-emoji", "int", "float", "bool", "list", "object", "lone-surrogate"],
)
async def test_invalid_client_id_gets_400_and_stores_nothing(
    client: Client, server: Server, client_id: object
) -> None:
    ana = await client.register()
    group_id = (await client.create_group(ana))["id"]
    before = message_count(server)
    r = await post(client, ana, group_id, {"text": "hi", "client_id": client_id})
    assert (r.status, r.error_code) == (400, "invalid_client_id"), r.body
    assert message_count(server) == before


async def test_concurrent_sends_with_one_client_id_store_one_message(client: Client, server: Server) -> None:
    ana = await client.register()
    group_id = (await client.create_group(ana))["id"]
    answers = await asyncio.gather(*(client.send(ana, group_id, f"try {i}", client_id="once") for i in range(10)))
    assert sorted(r.status for r in answers) == [200] * 9 + [201]
    assert len({r.json["message"]["id"] for r in answers}) == 1
    assert len({r.json["message"]["text"] for r in answers}) == 1
    rows = stored(server, group_id)
    assert len(rows) == 1
    assert rows[0][0] == 1 and rows[0][3] == "once"
    assert (await client.send(ana, group_id, "next")).json["message"]["seq"] == 2


# Bad bodies


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"text": "hi"', "application/json"),
        (b"text=hi", "application/json"),
        (b'[{"text": "hi"}]', "application/json"),
        (b'"hi"', "application/json"),
        (b"42", "application/json"),
        (b"null", "application/json"),
        (b'{"text": NaN}', "application/json"),
        (b'{"text": "hi", "client_id": Infinity}', "application/json"),
        (b'{"text": "\xff\xfe hi"}', "application/json"),
        (b'{"text": "hi"}', "text/plain"),
        (b"text=hi", "application/x-www-form-urlencoded"),
        (b'{"text": "hi"}', "application/x-www-form-urlencoded"),
    ],
    ids=[
        "truncated", "not-json", "array", "string", "number", "null", "nan", "infinity", "invalid-utf8",
        "text-plain", "form", "json-as-form",
    ],
)
async def test_a_body_that_is_not_a_json_object_gets_400_invalid_json(
    client: Client, server: Server, body: bytes, content_type: str
) -> None:
    ana = await client.register()
    group_id = (await client.create_group(ana))["id"]
    before = message_count(server)
    r = await client.request("POST", f"/api/groups/{group_id}/messages", body=body,
                             headers={"Content-Type": content_type}, token=ana.token)
    assert (r.status, r.error_code) == (400, "invalid_json"), r.body
    assert message_count(server) == before


def padded_body(size: int) -> bytes:
    """A valid JSON object of exactly ``size`` bytes that sends the text "hi"."""
    head, tail = b'{"text": "hi", "padding": "', b'"}'
    return head + b"p" * (size - len(head) - len(tail)) + tail


async def test_a_body_over_64_kib_gets_413_too_large(client: Client, server: Server) -> None:
    ana = await client.register()
    group_id = (await client.create_group(ana))["id"]
    before = message_count(server)
    for size in (64 * 1024 + 1, 1024 * 1024):
        r = await client.request("POST", f"/api/groups/{group_id}/messages", body=padded_body(size),
                                 headers={"Content-Type": "application/json"}, token=ana.token)
        assert (r.status, r.error_code) == (413, "too_large"), (size, r.body)
    assert message_count(server) == before


async def test_a_body_of_exactly_64_kib_is_accepted(client: Client, server: Server) -> None:
    ana = await client.register()
    group_id = (await client.create_group(ana))["id"]
    r = await client.request("POST", f"/api/groups/{group_id}/messages", body=padded_body(64 * 1024),
                             headers={"Content-Type": "application/json"}, token=ana.token)
    assert r.status == 201, r.body
    assert stored(server, group_id) == [(1, ana.id, "hi", None)]


# History


async def test_history_is_oldest_first_and_defaults_to_the_newest_50(client: Client) -> None:
    ana = await client.register()
    group_id = (await client.create_group(ana))["id"]
    for i in range(1, 56):
        assert (await client.send(ana, group_id, f"m{i}")).status == 201
    messages = await history(client, ana, group_id)
    assert [m["seq"] for m in messages] == list(range(6, 56))
    assert [m["text"] for m in messages] == [f"m{i}" for i in range(6, 56)]
    assert all(set(m) == MESSAGE_KEYS for m in messages)


async def test_history_limit_gives_the_newest_n(client: Client) -> None:
    ana = await client.register()
    group_id = (await client.create_group(ana))["id"]
    for i in range(1, 8):
        await client.send(ana, group_id, f"m{i}")
    assert [m["seq"] for m in await history(client, ana, group_id, "?limit=3")] == [5, 6, 7]
    assert [m["seq"] for m in await history(client, ana, group_id, "?limit=1")] == [7]
    assert [m["seq"] for m in await history(client, ana, group_id, "?limit=200")] == list(range(1, 8))


async def test_history_limit_is_at_most_200(client: Client) -> None:
    ana = await client.register()
    group_id = (await client.create_group(ana))["id"]
    await asyncio.gather(*(client.send(ana, group_id, f"m{i}") for i in range(205)))
    messages = await history(client, ana, group_id, "?limit=200")
    assert [m["seq"] for m in messages] == list(range(6, 206))


@pytest.mark.parametrize("limit", ["201", "0", "-1", "abc", "2.5", "1e2", "99999999999999999999"])
async def test_a_bad_history_limit_gets_400_invalid_limit(client: Client, limit: str) -> None:
    ana = await client.register()
    group_id = (await client.create_group(ana))["id"]
    await client.send(ana, group_id, "hi")
    r = await client.request("GET", f"/api/groups/{group_id}/messages?limit={limit}", token=ana.token)
    assert (r.status, r.error_code) == (400, "invalid_limit"), r.body


async def test_history_before_gives_the_newest_messages_with_a_smaller_seq(client: Client) -> None:
    ana = await client.register()
    group_id = (await client.create_group(ana))["id"]
    for i in range(1, 11):
        await client.send(ana, group_id, f"m{i}")
    assert [m["seq"] for m in await history(client, ana, group_id, "?before=8&limit=3")] == [5, 6, 7]
    assert [m["seq"] for m in await history(client, ana, group_id, "?before=4")] == [1, 2, 3]
    assert [m["seq"] for m in await history(client, ana, group_id, "?before=1")] == []
    assert [m["seq"] for m in await history(client, ana, group_id, "?before=1000&limit=2")] == [9, 10]


async def test_paging_back_with_before_visits_every_message_once(client: Client) -> None:
    ana = await client.register()
    group_id = (await client.create_group(ana))["id"]
    for i in range(1, 12):
        await client.send(ana, group_id, f"m{i}")
    pages: list[list[int]] = []
    page = await history(client, ana, group_id, "?limit=4")
    while page:
        pages.append([m["seq"] for m in page])
        page = await history(client, ana, group_id, f"?limit=4&before={page[0]['seq']}")
    assert pages == [[8, 9, 10, 11], [4, 5, 6, 7], [1, 2, 3]]


@pytest.mark.parametrize("before", ["x", "0", "-3", "1.5", "2e1"])
async def test_a_bad_history_before_gets_400_invalid_before(client: Client, before: str) -> None:
    ana = await client.register()
    group_id = (await client.create_group(ana))["id"]
    await client.send(ana, group_id, "hi")
    r = await client.request("GET", f"/api/groups/{group_id}/messages?before={before}", token=ana.token)
    assert (r.status, r.error_code) == (400, "invalid_before"), r.body


async def test_history_of_an_empty_group_is_empty(client: Client) -> None:
    ana = await client.register()
    group_id = (await client.create_group(ana))["id"]
    assert await history(client, ana, group_id) == []


# What a member may see


async def test_a_member_sees_only_messages_sent_after_they_joined(client: Client) -> None:
    ana, bob = await client.register(), await client.register()
    group_id = (await client.create_group(ana))["id"]
    for text in ("before 1", "before 2"):
        await client.send(ana, group_id, text)
    await client.join(bob, group_id)
    await client.send(ana, group_id, "after")
    assert [m["text"] for m in await history(client, bob, group_id)] == ["after"]
    assert [m["text"] for m in await history(client, bob, group_id, "?before=3")] == []
    assert [m["text"] for m in await history(client, bob, group_id, "?before=2&limit=200")] == []
    assert [m["text"] for m in await history(client, ana, group_id)] == ["before 1", "before 2", "after"]


async def test_a_member_who_joins_an_idle_group_sees_nothing_old(client: Client) -> None:
    ana, bob = await client.register(), await client.register()
    group_id = (await client.create_group(ana))["id"]
    await client.send(ana, group_id, "old news")
    await client.join(bob, group_id)
    assert await history(client, bob, group_id) == []


async def test_a_member_who_leaves_and_joins_again_starts_from_the_new_join(client: Client) -> None:
    ana, bob = await client.register(), await client.register()
    group_id = (await client.create_group(ana))["id"]
    await client.send(ana, group_id, "before bob")
    await client.join(bob, group_id)
    await client.send(ana, group_id, "first stay")
    assert [m["text"] for m in await history(client, bob, group_id)] == ["first stay"]
    assert (await client.request("DELETE", f"/api/groups/{group_id}/membership", token=bob.token)).status == 204
    await client.send(ana, group_id, "while away")
    await client.join(bob, group_id)
    assert await history(client, bob, group_id) == []
    await client.send(ana, group_id, "second stay")
    assert [m["text"] for m in await history(client, bob, group_id)] == ["second stay"]
    assert [m["text"] for m in await history(client, bob, group_id, "?before=4")] == []
    assert len(await history(client, ana, group_id)) == 4
