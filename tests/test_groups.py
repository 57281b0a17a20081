"""Groups and membership: listing, creating, names, joining, leaving, missing groups, non-members."""

from __future__ import annotations

import asyncio
import datetime
import re
from typing import Any

import pytest

from .support.database import query
from .support.http import Account, Client, unique
from .support.servers import Server

ISO_UTC_MS = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z\Z")
GROUP_KEYS = {
    "id", "name", "created_at", "created_by", "members", "online", "joined", "kind", "topic", "role", "peer",
    "last_read_seq", "unread", "unread_mentions", "notify",
}
MISSING = object()  # a request body without the field at all
NO_SUCH_GROUP = 9_000_000_000_000_000_000  # a valid id (below 2**63) that names no group


def counts(server: Server) -> tuple[int, ...]:
    """How many groups, memberships and messages are stored."""
    db = server.settings.database
    return tuple(query(db, f"SELECT COUNT(*) FROM {t}")[0][0] for t in ("chat_groups", "memberships", "messages"))


async def create(client: Client, owner: Account, name: object = MISSING) -> Any:
    return await client.request("POST", "/api/groups", {} if name is MISSING else {"name": name}, token=owner.token)


async def listed(client: Client, account: Account, group_id: int) -> dict[str, Any]:
    r = await client.request("GET", "/api/groups", token=account.token)
    assert r.status == 200
    return next(g for g in r.json["groups"] if g["id"] == group_id)


# Listing


async def test_list_groups_shows_every_group_with_the_group_object_shape(client: Client) -> None:
    ana, bob = await client.register(), await client.register()
    group = await client.create_group(ana)
    r = await client.request("GET", "/api/groups", token=bob.token)
    assert r.status == 200
    assert set(r.json) == {"groups"}
    seen = next(g for g in r.json["groups"] if g["id"] == group["id"])
    assert set(seen) == GROUP_KEYS
    assert seen["name"] == group["name"]
    assert ISO_UTC_MS.match(seen["created_at"]), seen["created_at"]
    assert seen["created_by"] == ana.user
    assert (seen["members"], seen["online"], seen["joined"]) == (1, 0, False)
    assert all(set(g) == GROUP_KEYS for g in r.json["groups"])


async def test_list_groups_shows_joined_as_the_caller_sees_it(client: Client) -> None:
    ana, bob = await client.register(), await client.register()
    group = await client.create_group(ana)
    assert (await listed(client, ana, group["id"]))["joined"] is True
    assert (await listed(client, bob, group["id"]))["joined"] is False
    await client.join(bob, group["id"])
    assert (await listed(client, bob, group["id"]))["joined"] is True


async def test_list_groups_is_sorted_by_name_regardless_of_case(client: Client) -> None:
    ana = await client.register()
    prefix = unique("sort")
    for suffix in ("cherry", "Banana", "apple", "Date", "banana split"):
        assert (await create(client, ana, f"{prefix} {suffix}")).status == 201
    r = await client.request("GET", "/api/groups", token=ana.token)
    names = [g["name"] for g in r.json["groups"] if g["name"].startswith(prefix)]
    assert names == [f"{prefix} {s}" for s in ("apple", "Banana", "banana split", "cherry", "Date")]
    every_ascii = [g["name"].casefold() for g in r.json["groups"] if g["name"].isascii()]
    assert every_ascii == sorted(every_ascii)


# Creating


async def test_create_group_returns_201_and_the_creator_joins_it(client: Client, server: Server) -> None:
    ana = await client.register()
    name = unique("Garden")
    r = await create(client, ana, name)
    assert r.status == 201
    assert set(r.json) == {"group"}
    group = r.json["group"]
    assert set(group) == GROUP_KEYS
    assert isinstance(group["id"], int)
    assert group["name"] == name
    assert group["created_by"] == ana.user
    assert ISO_UTC_MS.match(group["created_at"]), group["created_at"]
    created = datetime.datetime.fromisoformat(group["created_at"].replace("Z", "+00:00"))
    assert abs(created - datetime.datetime.now(datetime.UTC)) < datetime.timedelta(seconds=60)
    assert (group["members"], group["joined"]) == (1, True)
    assert query(server.settings.database, "SELECT user_id FROM memberships WHERE group_id = %s",
                 (group["id"],)) == [(ana.id,)]
    me = await client.request("GET", "/api/me", token=ana.token)
    assert [g["id"] for g in me.json["groups"]] == [group["id"]]


async def test_group_names_are_stored_trimmed(client: Client, server: Server) -> None:
    ana = await client.register()
    name = unique("Trim me")
    r = await create(client, ana, f" \t {name}\n ")
    assert r.status == 201
    assert r.json["group"]["name"] == name
    assert query(server.settings.database, "SELECT name FROM chat_groups WHERE id = %s",
                 (r.json["group"]["id"],)) == [(name,)]


async def test_group_names_of_1_and_64_characters_after_trimming_are_accepted(client: Client) -> None:
    ana = await client.register()
    one = await create(client, ana, "  \ua66e  ")  # one rare character, used by no other test
    assert one.status == 201, one.body
    assert one.json["group"]["name"] == "\ua66e"
    sixty_four = (unique("n") + "x" * 64)[:64]
    r = await create(client, ana, f"   {sixty_four}   ")
    assert r.status == 201, r.body
    assert r.json["group"]["name"] == sixty_four
    for long_name in (unique("e")[-16:] + "\U0001f355" * 48, unique("f")[-16:] + "\ufb03" * 48):
        r = await create(client, ana, long_name)  # 4-byte characters; ligatures that case-fold to 3 characters
        assert r.status == 201, r.body
        assert r.json["group"]["name"] == long_name


@pytest.mark.parametrize(
    "name",
    [
        "", "   ", " \t\n ", "x" * 65, " " + "x" * 65 + " ", 123, 1.5, True, None, ["name"], {"name": "x"}, MISSING,
        "bad\u0000name", "bad\nname", "bad\x07name", "\ud800", "name \udfff",
    ],
    ids=[
        "empty", "spaces", "whitespace", "65-chars", "65-chars-padded", "int", "float", "bool", "null", "list",
        "object", "missing", "nul", "newline", "bell", "lone-surrogate", "lone-low-surrogate",
    ],
)
async def test_invalid_group_names_get_400_and_store_nothing(client: Client, server: Server, name: object) -> None:
    ana = await client.register()
    before = counts(server)
    r = await create(client, ana, name)
    assert (r.status, r.error_code) == (400, "invalid_name"), r.body
    assert counts(server) == before


async def test_a_65_character_name_is_refused_even_in_emoji(client: Client, server: Server) -> None:
    ana = await client.register()
    before = counts(server)
    r = await create(client, ana, "\U0001f355" * 65)
    assert (r.status, r.error_code) == (400, "invalid_name")
    assert counts(server) == before


@pytest.mark.parametrize(
    ("first", "second"),
    [("Book Club", "book club"), ("book club", "BOOK CLUB"), ("Ção", "ção"), ("Straße", "STRASSE"), ("ÉTÉ", "été")],
)
async def test_group_names_are_unique_regardless_of_case(
    client: Client, server: Server, first: str, second: str
) -> None:
    ana, bob = await client.register(), await client.register()
    prefix = unique("dup")
    assert (await create(client, ana, f"{prefix} {first}")).status == 201
    before = counts(server)
    r = await create(client, bob, f"{prefix} {second}")
    assert (r.status, r.error_code) == (409, "group_exists")
    assert counts(server) == before


async def test_a_name_that_differs_only_by_surrounding_spaces_is_the_same_name(client: Client) -> None:
    ana = await client.register()
    name = unique("Same")
    assert (await create(client, ana, name)).status == 201
    r = await create(client, ana, f"  {name.upper()}  ")
    assert (r.status, r.error_code) == (409, "group_exists")


async def test_different_emoji_names_are_different_groups(client: Client) -> None:
    ana = await client.register()
    prefix = unique("food")
    names = [f"{prefix} \U0001f355", f"{prefix} \U0001f354", f"{prefix} \U0001f363", f"{prefix} \U0001f600"]
    for name in names:
        r = await create(client, ana, name)
        assert r.status == 201, (name, r.body)
        assert r.json["group"]["name"] == name


@pytest.mark.parametrize(
    "suffix",
    [
        "\U0001f355\U0001f468\u200d\U0001f469\u200d\U0001f467 party", "中文聊天室", "مجموعة الدردشة", "עברית ✡",
        "e\u0301te\u0301",
    ],
    ids=["emoji", "cjk", "arabic", "hebrew", "combining"],
)
async def test_group_names_round_trip_in_utf8mb4(client: Client, server: Server, suffix: str) -> None:
    ana, bob = await client.register(), await client.register()
    name = f"{unique('u')} {suffix}"
    r = await create(client, ana, name)
    assert r.status == 201, r.body
    group_id = r.json["group"]["id"]
    assert r.json["group"]["name"] == name
    assert (await listed(client, bob, group_id))["name"] == name
    joined = await client.request("PUT", f"/api/groups/{group_id}/membership", token=bob.token)
    assert joined.json["group"]["name"] == name
    assert query(server.settings.database, "SELECT name FROM chat_groups WHERE id = %s", (group_id,)) == [(name,)]


async def test_concurrent_creation_of_one_name_makes_one_group(client: Client, server: Server) -> None:
    accounts = await asyncio.gather(*(client.register() for _ in range(8)))
    name = unique("race")
    answers = await asyncio.gather(*(
        create(client, account, name.upper() if i % 2 else name) for i, account in enumerate(accounts)
    ))
    assert sorted(r.status for r in answers) == [201] + [409] * 7
    assert all(r.error_code == "group_exists" for r in answers if r.status == 409)
    assert query(server.settings.database, "SELECT COUNT(*) FROM chat_groups WHERE name_key = %s", (name,)) == [(1,)]


# Joining and leaving


async def test_join_returns_200_with_the_group_joined(client: Client, server: Server) -> None:
    ana, bob = await client.register(), await client.register()
    group = await client.create_group(ana)
    r = await client.request("PUT", f"/api/groups/{group['id']}/membership", token=bob.token)
    assert r.status == 200
    assert set(r.json) == {"group"}
    assert set(r.json["group"]) == GROUP_KEYS
    assert r.json["group"]["id"] == group["id"]
    assert (r.json["group"]["joined"], r.json["group"]["members"]) == (True, 2)
    assert r.json["group"]["created_by"] == ana.user
    assert (await listed(client, ana, group["id"]))["members"] == 2
    assert query(server.settings.database, "SELECT COUNT(*) FROM memberships WHERE group_id = %s AND user_id = %s",
                 (group["id"], bob.id)) == [(1,)]


async def test_joining_twice_is_a_no_op(client: Client, server: Server) -> None:
    ana, bob = await client.register(), await client.register()
    group = await client.create_group(ana)
    await client.join(bob, group["id"])
    await client.send(ana, group["id"], "after bob joined")
    sql = "SELECT id, start_seq FROM memberships WHERE group_id = %s AND user_id = %s"
    membership = query(server.settings.database, sql, (group["id"], bob.id))
    again = await client.request("PUT", f"/api/groups/{group['id']}/membership", token=bob.token)
    assert again.status == 200
    assert (again.json["group"]["joined"], again.json["group"]["members"]) == (True, 2)
    assert query(server.settings.database, sql, (group["id"], bob.id)) == membership
    history = await client.request("GET", f"/api/groups/{group['id']}/messages", token=bob.token)
    assert [m["text"] for m in history.json["messages"]] == ["after bob joined"]


async def test_concurrent_joins_by_one_user_make_one_membership(client: Client, server: Server) -> None:
    ana, bob = await client.register(), await client.register()
    group = await client.create_group(ana)
    answers = await asyncio.gather(*(
        client.request("PUT", f"/api/groups/{group['id']}/membership", token=bob.token) for _ in range(8)
    ))
    assert [r.status for r in answers] == [200] * 8
    assert all(r.json["group"]["members"] == 2 for r in answers)
    assert query(server.settings.database, "SELECT COUNT(*) FROM memberships WHERE group_id = %s",
                 (group["id"],)) == [(2,)]


async def test_creator_joining_again_is_a_no_op(client: Client) -> None:
    ana = await client.register()
    group = await client.create_group(ana)
    r = await client.request("PUT", f"/api/groups/{group['id']}/membership", token=ana.token)
    assert r.status == 200
    assert (r.json["group"]["joined"], r.json["group"]["members"]) == (True, 1)


async def test_leave_returns_204_and_the_user_is_no_longer_a_member(client: Client, server: Server) -> None:
    ana, bob = await client.register(), await client.register()
    group = await client.create_group(ana)
    await client.join(bob, group["id"])
    r = await client.request("DELETE", f"/api/groups/{group['id']}/membership", token=bob.token)
    assert r.status == 204
    assert r.body == b""
    history = await client.request("GET", f"/api/groups/{group['id']}/messages", token=bob.token)
    assert (history.status, history.error_code) == (403, "not_member")
    send = await client.send(bob, group["id"], "still here?")
    assert (send.status, send.error_code) == (403, "not_member")
    seen = await listed(client, bob, group["id"])
    assert (seen["joined"], seen["members"]) == (False, 1)
    me = await client.request("GET", "/api/me", token=bob.token)
    assert group["id"] not in [g["id"] for g in me.json["groups"]]


async def test_the_creator_may_leave_and_the_group_stays(client: Client) -> None:
    ana, bob = await client.register(), await client.register()
    group = await client.create_group(ana)
    assert (await client.request("DELETE", f"/api/groups/{group['id']}/membership", token=ana.token)).status == 204
    seen = await listed(client, bob, group["id"])
    assert (seen["members"], seen["created_by"]) == (0, ana.user)


async def test_leaving_a_group_one_is_not_in_is_204_and_changes_nothing(client: Client, server: Server) -> None:
    ana, bob = await client.register(), await client.register()
    group = await client.create_group(ana)
    before = counts(server)
    for _ in range(2):
        r = await client.request("DELETE", f"/api/groups/{group['id']}/membership", token=bob.token)
        assert r.status == 204
    assert counts(server) == before
    assert (await listed(client, ana, group["id"]))["members"] == 1


# Missing groups and non-members


GROUP_ROUTES = [
    ("PUT", "membership"), ("DELETE", "membership"), ("GET", "messages"), ("POST", "messages"),
    ("GET", "online"), ("POST", "typing"),
]
BAD_IDS = [
    str(NO_SUCH_GROUP), str(2**63 - 1), str(2**63), str(2**64), "99999999999999999999", "abc", "1.5", "-1", "0",
    "1e3", "0x10", "%C3%A7",
]


def body_for(method: str, route: str) -> dict[str, Any] | None:
    if route == "messages" and method == "POST":
        return {"text": "hello"}
    return {} if method in ("POST", "PUT") else None


@pytest.mark.parametrize(("method", "route"), GROUP_ROUTES, ids=[f"{m}-{r}" for m, r in GROUP_ROUTES])
async def test_a_group_that_does_not_exist_gets_404_group_not_found(
    client: Client, server: Server, method: str, route: str
) -> None:
    ana = await client.register()
    await client.create_group(ana)  # so that there are groups, just not these
    before = counts(server)
    for group_id in BAD_IDS:
        r = await client.request(method, f"/api/groups/{group_id}/{route}", body_for(method, route), token=ana.token)
        assert (r.status, r.error_code) == (404, "group_not_found"), (group_id, r.body)
    assert counts(server) == before


MEMBER_ROUTES = [(m, r) for m, r in GROUP_ROUTES if r != "membership"]


@pytest.mark.parametrize(("method", "route"), MEMBER_ROUTES, ids=[f"{m}-{r}" for m, r in MEMBER_ROUTES])
async def test_a_group_the_user_has_not_joined_gets_403_not_member(
    client: Client, server: Server, method: str, route: str
) -> None:
    ana, eve = await client.register(), await client.register()
    group = await client.create_group(ana)
    await client.send(ana, group["id"], "members only")
    before = counts(server)
    r = await client.request(method, f"/api/groups/{group['id']}/{route}", body_for(method, route), token=eve.token)
    assert (r.status, r.error_code) == (403, "not_member"), r.body
    assert "members only" not in r.body.decode()
    assert counts(server) == before
