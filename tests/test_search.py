"""Search (``GET /api/search``): every word, whole words, any case and accents, only what the
searcher may see now, newest first, paged by message id."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest

from tornado_chat.config import Limit

from .support.http import Account, Client, unique
from .support.servers import StartServer
from .test_changes import delete


async def search(client: Client, account: Account | None, **params: Any) -> Any:
    return await client.request("GET", f"/api/search?{urlencode(params)}", token=account.token if account else None)


async def found(client: Client, account: Account, **params: Any) -> list[str]:
    """The texts found, in the order answered."""
    r = await search(client, account, **params)
    assert r.status == 200, r.body
    assert set(r.json) == {"messages"}
    return [m["text"] for m in r.json["messages"]]


async def group_with(client: Client, account: Account, *texts: str, **create: Any) -> dict[str, Any]:
    """A new group of ``account``'s in which they said ``texts``, in order."""
    r = await client.request("POST", "/api/groups", {"name": unique("g"), **create}, token=account.token)
    assert r.status == 201, r.body
    group = r.json["group"]
    for text in texts:
        assert (await client.send(account, group["id"], text)).status == 201
    return group


async def test_a_message_holding_every_word_is_found_and_one_missing_a_word_is_not(client: Client) -> None:
    ana = await client.register("ana")
    word = unique("kiwi")
    await group_with(client, ana, f"{word} and mango", f"{word} alone", "mango alone")
    assert await found(client, ana, q=f"mango {word}") == [f"{word} and mango"]


async def test_results_are_newest_first(client: Client) -> None:
    ana = await client.register("ana")
    word = unique("plum")
    await group_with(client, ana, f"{word} one", f"{word} two", f"{word} three")
    assert await found(client, ana, q=word) == [f"{word} three", f"{word} two", f"{word} one"]


async def test_case_and_accents_are_ignored_both_ways(client: Client) -> None:
    ana = await client.register("ana")
    tag = unique("t")
    await group_with(client, ana, f"{tag} Café com leite", f"{tag} CAFE preto")
    assert await found(client, ana, q=f"{tag} cafe") == [f"{tag} CAFE preto", f"{tag} Café com leite"]
    assert await found(client, ana, q=f"{tag} CAFÉ LEITE") == [f"{tag} Café com leite"]


async def test_words_are_whole_words(client: Client) -> None:
    ana = await client.register("ana")
    tag = unique("t")
    await group_with(client, ana, f"{tag} coffee")
    assert await found(client, ana, q=f"{tag} coffe") == []


async def test_short_and_common_words_are_found_too(client: Client) -> None:
    ana = await client.register("ana")
    tag = unique("t")
    await group_with(client, ana, f"{tag} I am in a go", f"{tag} the end")
    assert await found(client, ana, q=f"{tag} a go") == [f"{tag} I am in a go"]
    assert await found(client, ana, q=f"{tag} the") == [f"{tag} the end"]


@pytest.mark.parametrize(("q", "expected"), [
    ('-{w} "nothing', ["{w} OR nothing", "{w} with nothing else"]),  # not "without", not a phrase
    ("+{w}* else", ["{w} with nothing else"]),
    ("{w} OR", ["{w} OR nothing"]),  # OR is a word here
    ("({w}) <with> ~nothing", ["{w} with nothing else"]),
    ('"{w} nothing"', ["{w} OR nothing", "{w} with nothing else"]),  # the words, not the phrase
    ("{w} @2", []),
])
async def test_what_looks_like_a_full_text_operator_is_a_word_boundary_and_every_word_is_required(
    client: Client, q: str, expected: list[str]
) -> None:
    ana = await client.register("ana")
    word = unique("fig")
    await group_with(client, ana, f"{word} with nothing else", f"{word} OR nothing")
    assert await found(client, ana, q=q.format(w=word)) == [text.format(w=word) for text in expected]


async def test_only_groups_the_searcher_belongs_to_are_searched(client: Client) -> None:
    ana, bob = await client.register("ana"), await client.register("bob")
    word = unique("pear")
    public = await group_with(client, ana, f"{word} public")
    await group_with(client, ana, f"{word} private", kind="private")
    assert await found(client, bob, q=word) == []
    await client.join(bob, public["id"])
    assert await found(client, bob, q=word) == []  # sent before bob joined
    await client.send(ana, public["id"], f"{word} after the join")
    assert await found(client, bob, q=word) == [f"{word} after the join"]


async def test_a_group_left_is_no_longer_searched(client: Client) -> None:
    ana, bob = await client.register("ana"), await client.register("bob")
    word = unique("lime")
    group = await group_with(client, ana)
    await client.join(bob, group["id"])
    await client.send(ana, group["id"], f"{word} here")
    assert await found(client, bob, q=word) == [f"{word} here"]
    await client.request("DELETE", f"/api/groups/{group['id']}/membership", token=bob.token)
    assert await found(client, bob, q=word) == []


async def test_deleted_messages_are_never_found(client: Client) -> None:
    ana = await client.register("ana")
    word = unique("date")
    group = await group_with(client, ana, f"{word} gone", f"{word} kept")
    assert (await delete(client, ana, group["id"], 1)).status == 204
    assert await found(client, ana, q=word) == [f"{word} kept"]


async def test_an_edited_message_is_found_by_its_new_words_only(client: Client) -> None:
    ana = await client.register("ana")
    old, new = unique("old"), unique("new")
    group = await group_with(client, ana, f"{old} text")
    r = await client.request("PATCH", f"/api/groups/{group['id']}/messages/1", {"text": f"{new} text"}, token=ana.token)
    assert r.status == 200, r.body
    assert (await found(client, ana, q=old), await found(client, ana, q=new)) == ([], [f"{new} text"])


async def test_group_id_narrows_the_search_to_one_group(client: Client) -> None:
    ana = await client.register("ana")
    word = unique("nut")
    first = await group_with(client, ana, f"{word} first")
    await group_with(client, ana, f"{word} second")
    assert await found(client, ana, q=word, group_id=first["id"]) == [f"{word} first"]


async def test_a_group_id_the_searcher_may_not_read_answers_as_every_group_route(client: Client) -> None:
    ana, bob = await client.register("ana"), await client.register("bob")
    public = await group_with(client, ana)
    private = await group_with(client, ana, kind="private")
    answers = [await search(client, bob, q="x", group_id=gid) for gid in (public["id"], private["id"], 10**15)]
    assert [(r.status, r.error_code) for r in answers] == [
        (403, "not_member"), (404, "group_not_found"), (404, "group_not_found")]


async def test_before_pages_back_by_message_id(client: Client) -> None:
    ana = await client.register("ana")
    word = unique("fig")
    await group_with(client, ana, *(f"{word} {i}" for i in range(5)))
    first = await search(client, ana, q=word, limit=2)
    assert [m["text"] for m in first.json["messages"]] == [f"{word} 4", f"{word} 3"]
    older = await found(client, ana, q=word, limit=2, before=first.json["messages"][-1]["id"])
    assert older == [f"{word} 2", f"{word} 1"]


async def test_the_limit_defaults_to_20(client: Client) -> None:
    ana = await client.register("ana")
    word = unique("oat")
    await group_with(client, ana, *(f"{word} {i}" for i in range(22)))
    assert len(await found(client, ana, q=word)) == 20


@pytest.mark.parametrize(("params", "code"), [
    ({}, "invalid_query"), ({"q": ""}, "invalid_query"), ({"q": "!!! ???"}, "invalid_query"),
    ({"q": "   "}, "invalid_query"), ({"q": "a" * 201}, "invalid_query"),
    ({"q": "x", "limit": "0"}, "invalid_limit"), ({"q": "x", "limit": "101"}, "invalid_limit"),
    ({"q": "x", "limit": "ten"}, "invalid_limit"), ({"q": "x", "before": "0"}, "invalid_before"),
    ({"q": "x", "before": "-3"}, "invalid_before"), ({"q": "x", "group_id": "abc"}, "invalid_group_id"),
])
async def test_a_bad_query_gets_400_with_its_code(client: Client, params: dict[str, str], code: str) -> None:
    ana = await client.register("ana")
    r = await search(client, ana, **params)
    assert (r.status, r.error_code) == (400, code)


async def test_a_query_of_200_characters_is_accepted(client: Client) -> None:
    ana = await client.register("ana")
    assert await found(client, ana, q=("word " * 40)[:200]) == []


async def test_searching_needs_a_signed_in_user(client: Client) -> None:
    r = await search(client, None, q="anything")
    assert (r.status, r.error_code) == (401, "not_authenticated")


async def test_searches_past_the_limit_get_429_rate_limited(start_server: StartServer) -> None:
    server = await start_server(search_limit=Limit(rate=0.1, burst=2))
    client = server.client()
    ana = await client.register("ana")
    answers = [(await search(client, ana, q="hello")).status for _ in range(3)]
    assert answers == [200, 200, 429]
