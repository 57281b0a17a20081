"""Kinds of group, topics and who sees what (issue 15): the group object's `kind`, `topic`,
`role` and `peer`; creating public and private groups; a private group seen only by its members."""

from __future__ import annotations

import urllib.parse
from typing import Any

from .support.database import query
from .support.http import Account, Client
from .support.roles import add, create, join, listed, made, member_entry, member_list, mine, remove, without_times
from .support.servers import Server
from .test_groups import GROUP_KEYS as V1_GROUP_KEYS
from .test_groups import NO_SUCH_GROUP
from .test_images import encode, quadrants, upload

GROUP_KEYS = V1_GROUP_KEYS | {"kind", "topic", "role", "peer"}
THUMBS_UP = urllib.parse.quote("\U0001f44d", safe="")


def counts(server: Server) -> tuple[int, ...]:
    """What a refused request must not change: groups, memberships, messages, bans and removals."""
    db = server.settings.database
    tables = ("chat_groups", "memberships", "messages", "group_removals")
    return tuple(query(db, f"SELECT COUNT(*) FROM {t}")[0][0] for t in tables) + tuple(
        query(db, "SELECT COUNT(*), COALESCE(SUM(CHAR_LENGTH(name) + CHAR_LENGTH(topic)), 0) FROM chat_groups")[0])


# The group object


async def test_a_new_group_is_public_with_an_empty_topic_and_its_creator_is_the_owner(client: Client) -> None:
    ana = await client.register()
    r = await create(client, ana)
    assert r.status == 201, r.body
    group = r.json["group"]
    assert set(group) == GROUP_KEYS
    assert (group["kind"], group["topic"], group["role"], group["peer"]) == ("public", "", "owner", None)
    assert without_times(await member_list(client, ana, group["id"])) == [member_entry(ana, "owner")]


async def test_post_groups_makes_a_private_group_with_a_topic(client: Client) -> None:
    ana = await client.register()
    r = await create(client, ana, "private", topic="plans for the party")
    assert r.status == 201, r.body
    group = r.json["group"]
    assert set(group) == GROUP_KEYS
    assert (group["kind"], group["topic"], group["role"], group["members"], group["joined"]) == (
        "private", "plans for the party", "owner", 1, True)
    mine_now = (await mine(client, ana))[group["id"]]
    assert (mine_now["kind"], mine_now["topic"], mine_now["role"]) == ("private", "plans for the party", "owner")


async def test_kind_public_may_be_asked_for_by_name(client: Client) -> None:
    ana = await client.register()
    assert (await made(client, ana, "public"))["kind"] == "public"


async def test_role_is_the_callers_own_and_null_when_not_joined(client: Client) -> None:
    ana, bob, eve = await client.register(), await client.register(), await client.register()
    group = await made(client, ana)
    await client.join(bob, group["id"])
    assert (await listed(client, ana))[group["id"]]["role"] == "owner"
    assert (await listed(client, bob))[group["id"]]["role"] == "member"
    seen_by_eve = (await listed(client, eve))[group["id"]]
    assert (seen_by_eve["role"], seen_by_eve["joined"]) == (None, False)


async def test_peer_is_null_for_public_and_private_groups(client: Client) -> None:
    ana = await client.register()
    for kind in ("public", "private"):
        assert (await made(client, ana, kind))["peer"] is None


# Topics


async def test_a_topic_is_stored_trimmed(client: Client, server: Server) -> None:
    ana = await client.register()
    group = await made(client, ana, topic="  \t where we plan \n ")
    assert group["topic"] == "where we plan"
    assert query(server.settings.database, "SELECT topic FROM chat_groups WHERE id = %s",
                 (group["id"],)) == [("where we plan",)]


async def test_topics_of_0_and_250_characters_after_trimming_are_accepted(client: Client) -> None:
    ana = await client.register()
    assert (await made(client, ana, topic="   "))["topic"] == ""
    assert (await made(client, ana, topic=""))["topic"] == ""
    long = "t" * 249 + "\U0001f355"
    assert (await made(client, ana, topic=f"  {long}  "))["topic"] == long


async def test_an_invalid_topic_gets_400_invalid_topic_and_stores_nothing(client: Client, server: Server) -> None:
    ana = await client.register()
    before = counts(server)
    for topic in ("x" * 251, " " + "\U0001f355" * 251 + " ", 1, 1.5, True, ["topic"], {"topic": "x"}):
        r = await create(client, ana, "private", topic=topic)
        assert (r.status, r.error_code) == (400, "invalid_topic"), (topic, r.body)
    assert counts(server) == before


# Kinds


async def test_an_invalid_kind_gets_400_invalid_kind_and_stores_nothing(client: Client, server: Server) -> None:
    """A direct group is made only by PUT /api/direct/{username}, never by POST /api/groups."""
    ana = await client.register()
    before = counts(server)
    for kind in ("direct", "Public", "PRIVATE", "secret", "", 1, True, ["private"], {"k": 1}):
        r = await create(client, ana, kind)
        assert (r.status, r.error_code) == (400, "invalid_kind"), (kind, r.body)
    assert counts(server) == before


async def test_a_private_groups_name_is_taken_like_any_other(client: Client, server: Server) -> None:
    ana, bob = await client.register(), await client.register()
    group = await made(client, ana, "private")
    before = counts(server)
    r = await create(client, bob, "public", name=group["name"].upper())
    assert (r.status, r.error_code) == (409, "group_exists")
    assert counts(server) == before


# Who sees a private group


async def test_get_groups_lists_every_public_group_and_only_the_callers_private_and_direct_ones(
    client: Client,
) -> None:
    ana, bob, eve = await client.register(), await client.register(), await client.register()
    public = await made(client, ana, "public")
    secret = await made(client, ana, "private")
    shared = await made(client, ana, "private")
    assert (await add(client, ana, shared["id"], bob.username)).status == 200
    dm = (await client.request("PUT", f"/api/direct/{bob.username}", token=ana.token)).json["group"]
    seen = {name: set(await listed(client, who)) for name, who in (("ana", ana), ("bob", bob), ("eve", eve))}
    assert {public["id"], secret["id"], shared["id"], dm["id"]} <= seen["ana"]
    assert public["id"] in seen["bob"] and shared["id"] in seen["bob"]
    assert secret["id"] not in seen["bob"]
    assert seen["eve"] & {secret["id"], shared["id"], dm["id"]} == set() and public["id"] in seen["eve"]
    for group in (await listed(client, eve)).values():
        assert group["kind"] == "public" or group["role"] is not None, group


async def test_get_groups_is_still_sorted_by_name_with_private_groups_among_the_public(client: Client) -> None:
    ana = await client.register()
    names = [g["name"] for g in [await made(client, ana, kind) for kind in ("private", "public", "private")]]
    r = await client.request("GET", "/api/groups", token=ana.token)
    order = [g["name"] for g in r.json["groups"] if g["name"] in names]
    assert order == sorted(names, key=str.casefold)


def group_calls(group_id: Any, seq: int, user_id: int) -> list[tuple[str, str, Any]]:
    """Every route about one group, with a body that would be good for a member."""
    g = f"/api/groups/{group_id}"
    return [
        ("PUT", f"{g}/membership", None), ("DELETE", f"{g}/membership", None),
        ("GET", f"{g}/messages", None), ("POST", f"{g}/messages", {"text": "hello"}),
        ("GET", f"{g}/online", None), ("POST", f"{g}/typing", None),
        ("GET", f"{g}/members", None), ("POST", f"{g}/members", {"username": "nobody_at_all"}),
        ("PUT", f"{g}/members/{user_id}", {"role": "moderator"}), ("DELETE", f"{g}/members/{user_id}", None),
        ("DELETE", f"{g}/members/{user_id}?ban=true", None), ("DELETE", f"{g}/bans/{user_id}", None),
        ("PATCH", g, {"name": "taken over", "topic": "mine"}),
        ("PATCH", f"{g}/messages/{seq}", {"text": "edited"}), ("DELETE", f"{g}/messages/{seq}", None),
        ("PUT", f"{g}/messages/{seq}/reactions/{THUMBS_UP}", None),
        ("DELETE", f"{g}/messages/{seq}/reactions/{THUMBS_UP}", None),
    ]


async def outsider_scene(client: Client) -> tuple[Account, Account, Account, dict[str, Any], dict[str, Any]]:
    ana, bob, eve = await client.register(), await client.register(), await client.register()
    group = await made(client, ana, "private")
    assert (await add(client, ana, group["id"], bob.username)).status == 200
    sent = await upload(client, ana, group["id"], encode(quadrants(), "PNG"))
    assert sent.status == 201, sent.body
    return ana, bob, eve, group, sent.json["message"]


async def test_every_route_about_a_private_group_answers_a_non_member_as_for_a_group_that_does_not_exist(
    client: Client, server: Server
) -> None:
    ana, bob, eve, group, message = await outsider_scene(client)
    before = counts(server)
    for (method, path, body), (_, missing_path, _) in zip(
        group_calls(group["id"], message["seq"], bob.id), group_calls(NO_SUCH_GROUP, 1, bob.id), strict=True
    ):
        r = await client.request(method, path, body, token=eve.token)
        missing = await client.request(method, missing_path, body, token=eve.token)
        assert (r.status, r.error_code) == (404, "group_not_found"), (method, path, r.body)
        assert r.json == missing.json, (method, path)
        assert group["name"] not in r.body.decode()
    r = await upload(client, eve, group["id"], encode(quadrants(), "PNG"))
    assert (r.status, r.error_code) == (404, "group_not_found")
    for url in (message["image"]["url"], message["image"]["thumb_url"]):
        r = await client.request("GET", url, token=eve.token)
        assert (r.status, r.error_code) == (404, "image_not_found")
    assert counts(server) == before


async def test_a_member_removed_from_a_private_group_no_longer_sees_it(client: Client, server: Server) -> None:
    ana, bob, _, group, message = await outsider_scene(client)
    assert (await remove(client, ana, group["id"], bob.id)).status == 204
    assert group["id"] not in await listed(client, bob)
    assert group["id"] not in await mine(client, bob)
    before = counts(server)
    for method, path, body in group_calls(group["id"], message["seq"], ana.id):
        r = await client.request(method, path, body, token=bob.token)
        assert (r.status, r.error_code) == (404, "group_not_found"), (method, path, r.body)
    assert counts(server) == before


async def test_a_private_group_is_joined_only_by_being_added(client: Client) -> None:
    ana, bob = await client.register(), await client.register()
    group = await made(client, ana, "private")
    r = await join(client, bob, group["id"])
    assert (r.status, r.error_code) == (404, "group_not_found")
    added = await add(client, ana, group["id"], bob.username)
    assert added.status == 200, added.body
    again = await join(client, bob, group["id"])  # a member's join is a no-op, as in v1
    assert again.status == 200, again.body
    assert (again.json["group"]["role"], again.json["group"]["members"], again.json["group"]["kind"]) == (
        "member", 2, "private")
    assert group["id"] in await listed(client, bob)


async def test_a_private_group_leaves_the_list_of_a_member_who_leaves_it(client: Client) -> None:
    ana, bob = await client.register(), await client.register()
    group = await made(client, ana, "private")
    assert (await add(client, ana, group["id"], bob.username)).status == 200
    assert (await client.request("DELETE", f"/api/groups/{group['id']}/membership", token=bob.token)).status == 204
    assert group["id"] not in await listed(client, bob)
    r = await join(client, bob, group["id"])
    assert (r.status, r.error_code) == (404, "group_not_found")


async def test_a_private_groups_messages_never_reach_a_non_members_events(client: Client) -> None:
    ana, eve = await client.register(), await client.register()
    group = await made(client, ana, "private")
    cursor = await client.cursor(eve)
    await client.send(ana, group["id"], "for members only")
    r = await client.poll(eve, cursor, timeout=0.2)
    assert r.status == 200
    assert "for members only" not in r.body.decode()
