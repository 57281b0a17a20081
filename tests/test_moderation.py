"""Roles and moderation (issue 15): the members list, adding members, roles, removing and banning,
renaming, ownership passing when the owner leaves, who deletes whose messages, and the events
each of these sends through the long poll (also across processes)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from tornado.httpclient import AsyncHTTPClient

from .support.database import query
from .support.http import Account, Client, unique
from .support.processes import ChatProcess
from .support.roles import (
    add,
    join,
    leave,
    listed,
    made,
    member_entry,
    member_list,
    members,
    mine,
    patch,
    remove,
    roles_of,
    set_role,
    sorted_as_the_contract_says,
    unban,
    without_times,
)
from .support.servers import Server
from .test_changes import delete, history, sent
from .test_events import collect, messages, of_type, quiet_cursor
from .test_groups import ISO_UTC_MS
from .test_scaleout import metric, until

Event = dict[str, Any]


@dataclass
class Crew:
    """A group with an owner, a moderator and a member (who joined in that order)."""

    group: dict[str, Any]
    owner: Account
    moderator: Account
    member: Account

    @property
    def id(self) -> int:
        return self.group["id"]


async def crew(client: Client, kind: str = "public") -> Crew:
    owner, moderator, member = await client.register("owner"), await client.register("mod"), await client.register()
    group = await made(client, owner, kind)
    for account in (moderator, member):
        assert (await add(client, owner, group["id"], account.username)).status == 200
    assert (await set_role(client, owner, group["id"], moderator.id, "moderator")).status == 200
    return Crew(group, owner, moderator, member)


def stored(server: Server, group_id: int) -> tuple[Any, ...]:
    """What a refused request must not change: the group's row, its members and their roles, its bans."""
    db = server.settings.database
    return (
        query(db, "SELECT name, topic, kind FROM chat_groups WHERE id = %s", (group_id,)),
        query(db, "SELECT id, user_id, role, start_seq FROM memberships WHERE group_id = %s ORDER BY id", (group_id,)),
        query(db, "SELECT user_id, banned FROM group_removals WHERE group_id = %s ORDER BY user_id, banned",
              (group_id,)),
    )


def is_banned(server: Server, group_id: int, user_id: int) -> bool:
    rows = query(server.settings.database, "SELECT COUNT(*) FROM group_removals WHERE group_id = %s AND user_id = %s "
                 "AND banned", (group_id, user_id))
    return rows[0][0] > 0


# The members list


async def test_members_lists_user_role_and_join_time_owner_then_moderators_then_members_by_username(
    client: Client,
) -> None:
    c = await crew(client)
    extra = [await client.register("zed"), await client.register("abe")]
    for account in extra:
        assert (await join(client, account, c.id)).status == 200
    second_mod = await client.register("aaa")
    await client.join(second_mod, c.id)
    assert (await set_role(client, c.owner, c.id, second_mod.id, "moderator")).status == 200
    r = await members(client, c.member, c.id)
    assert r.status == 200 and set(r.json) == {"members"}
    entries = r.json["members"]
    assert all(set(e) == {"user", "role", "joined_at"} and ISO_UTC_MS.match(e["joined_at"]) for e in entries)
    assert entries == sorted_as_the_contract_says(entries)
    assert roles_of(entries) == {c.owner.id: "owner", c.moderator.id: "moderator", second_mod.id: "moderator",
                                 c.member.id: "member", extra[0].id: "member", extra[1].id: "member"}


async def test_a_public_groups_non_member_may_not_list_its_members(client: Client) -> None:
    c = await crew(client)
    eve = await client.register()
    r = await members(client, eve, c.id)
    assert (r.status, r.error_code) == (403, "not_member")


# Adding members


async def test_any_member_of_a_public_group_adds_a_user_who_sees_what_is_sent_from_then_on(
    client: Client,
) -> None:
    c = await crew(client)
    await client.send(c.owner, c.id, "before dan")
    dan = await client.register("dan")
    r = await add(client, c.member, c.id, dan.username)
    assert r.status == 200, r.body
    assert set(r.json) == {"group"}
    assert (r.json["group"]["id"], r.json["group"]["role"], r.json["group"]["members"]) == (c.id, "member", 4)
    await client.send(c.owner, c.id, "after dan")
    assert [m["text"] for m in await history(client, dan, c.id)] == ["after dan"]
    assert (await listed(client, dan))[c.id]["role"] == "member"


async def test_the_group_answered_to_an_add_is_the_group_as_the_caller_sees_it(client: Client) -> None:
    c = await crew(client, "private")
    for actor, role in ((c.owner, "owner"), (c.moderator, "moderator")):
        newcomer = await client.register()
        r = await add(client, actor, c.id, newcomer.username)
        assert r.status == 200, r.body
        assert (r.json["group"]["role"], r.json["group"]["joined"], r.json["group"]["kind"]) == (role, True, "private")


async def test_in_a_private_group_only_the_owner_and_moderators_add_members(client: Client, server: Server) -> None:
    c = await crew(client, "private")
    newcomer = await client.register()
    before = stored(server, c.id)
    r = await add(client, c.member, c.id, newcomer.username)
    assert (r.status, r.error_code) == (403, "not_allowed")
    assert stored(server, c.id) == before


async def test_adding_a_member_twice_is_200_and_changes_nothing(client: Client, server: Server) -> None:
    c = await crew(client)
    await client.send(c.owner, c.id, "seen by the member")
    before = stored(server, c.id)
    for actor, who in ((c.owner, c.member), (c.moderator, c.member), (c.owner, c.moderator), (c.member, c.owner)):
        r = await add(client, actor, c.id, who.username)
        assert r.status == 200, r.body
        assert r.json["group"]["members"] == 3
    assert stored(server, c.id) == before
    assert [m["text"] for m in await history(client, c.member, c.id)] == ["seen by the member"]


async def test_adding_an_unknown_user_gets_404_user_not_found(client: Client, server: Server) -> None:
    c = await crew(client)
    before = stored(server, c.id)
    for username in (unique("nobody"), "ab", "not a name!", "x" * 40, "café", "Å", "\U0001f600"):
        r = await add(client, c.owner, c.id, username)
        assert (r.status, r.error_code) == (404, "user_not_found"), (username, r.body)
    assert stored(server, c.id) == before


async def test_a_username_that_is_not_a_string_gets_400_invalid_username(client: Client, server: Server) -> None:
    c = await crew(client)
    before = stored(server, c.id)
    for username in (None, 12, 1.5, True, ["bob"], {"username": "bob"}):
        r = await add(client, c.owner, c.id, username)
        assert (r.status, r.error_code) == (400, "invalid_username"), (username, r.body)
    assert stored(server, c.id) == before


# Roles


async def test_the_owner_makes_a_member_a_moderator_and_back(client: Client) -> None:
    c = await crew(client)
    r = await set_role(client, c.owner, c.id, c.member.id, "moderator")
    assert r.status == 200, r.body
    assert set(r.json) == {"member"}
    assert without_times([r.json["member"]]) == [member_entry(c.member, "moderator")]
    assert ISO_UTC_MS.match(r.json["member"]["joined_at"])
    assert roles_of(await member_list(client, c.owner, c.id))[c.member.id] == "moderator"
    assert (await listed(client, c.member))[c.id]["role"] == "moderator"
    back = await set_role(client, c.owner, c.id, c.member.id, "member")
    assert back.status == 200 and back.json["member"]["role"] == "member"
    assert (await listed(client, c.member))[c.id]["role"] == "member"


@pytest.mark.parametrize("actor", ["moderator", "member"])
async def test_only_the_owner_sets_roles(client: Client, server: Server, actor: str) -> None:
    c = await crew(client)
    before = stored(server, c.id)
    for target, role in ((c.member, "moderator"), (c.moderator, "member")):
        r = await set_role(client, getattr(c, actor), c.id, target.id, role)
        assert (r.status, r.error_code) == (403, "not_allowed"), r.body
    assert stored(server, c.id) == before


async def test_an_unknown_role_gets_400_invalid_role(client: Client, server: Server) -> None:
    c = await crew(client)
    before = stored(server, c.id)
    for role in ("owner", "admin", "Moderator", "", None, 1, ["member"], {"role": "member"}):
        r = await set_role(client, c.owner, c.id, c.member.id, role)
        assert (r.status, r.error_code) == (400, "invalid_role"), (role, r.body)
    assert stored(server, c.id) == before


async def test_a_role_for_someone_not_a_member_gets_404_member_not_found(client: Client, server: Server) -> None:
    c = await crew(client)
    eve = await client.register()
    before = stored(server, c.id)
    r = await set_role(client, c.owner, c.id, eve.id, "moderator")
    assert (r.status, r.error_code) == (404, "member_not_found")
    assert stored(server, c.id) == before


async def test_the_owner_cannot_change_their_own_role(client: Client, server: Server) -> None:
    c = await crew(client)
    before = stored(server, c.id)
    for role in ("moderator", "member"):
        r = await set_role(client, c.owner, c.id, c.owner.id, role)
        assert (r.status, r.error_code) == (403, "not_allowed")
    assert stored(server, c.id) == before


# Removing


async def test_the_owner_removes_anyone_but_themself(client: Client, server: Server) -> None:
    c = await crew(client)
    for target in (c.member, c.moderator):
        assert (await remove(client, c.owner, c.id, target.id)).status == 204
    assert without_times(await member_list(client, c.owner, c.id)) == [member_entry(c.owner, "owner")]
    before = stored(server, c.id)
    r = await remove(client, c.owner, c.id, c.owner.id)
    assert (r.status, r.error_code) == (403, "not_allowed")
    assert stored(server, c.id) == before


async def test_a_moderator_removes_members_but_not_moderators_nor_the_owner(client: Client, server: Server) -> None:
    c = await crew(client)
    other_mod = await client.register()
    await client.join(other_mod, c.id)
    assert (await set_role(client, c.owner, c.id, other_mod.id, "moderator")).status == 200
    before = stored(server, c.id)
    for target in (other_mod, c.owner, c.moderator):
        r = await remove(client, c.moderator, c.id, target.id)
        assert (r.status, r.error_code) == (403, "not_allowed"), target
    assert stored(server, c.id) == before
    assert (await remove(client, c.moderator, c.id, c.member.id)).status == 204
    assert c.member.id not in roles_of(await member_list(client, c.owner, c.id))


async def test_a_member_removes_no_one(client: Client, server: Server) -> None:
    c = await crew(client)
    other = await client.register()
    await client.join(other, c.id)
    before = stored(server, c.id)
    for target in (other, c.moderator, c.owner):
        r = await remove(client, c.member, c.id, target.id)
        assert (r.status, r.error_code) == (403, "not_allowed")
    assert stored(server, c.id) == before


async def test_a_removed_member_is_a_non_member_and_may_join_a_public_group_again(client: Client) -> None:
    c = await crew(client)
    await client.send(c.owner, c.id, "before the removal")
    assert (await remove(client, c.owner, c.id, c.member.id)).status == 204
    r = await client.request("GET", f"/api/groups/{c.id}/messages", token=c.member.token)
    assert (r.status, r.error_code) == (403, "not_member")
    assert c.id not in await mine(client, c.member)
    assert (await join(client, c.member, c.id)).status == 200
    assert await history(client, c.member, c.id) == []  # a new join: a new start


async def test_removing_someone_not_a_member_gets_404_member_not_found(client: Client, server: Server) -> None:
    c = await crew(client)
    eve = await client.register()
    before = stored(server, c.id)
    for ban in (None, "false", "0"):
        r = await remove(client, c.owner, c.id, eve.id, ban=ban)
        assert (r.status, r.error_code) == (404, "member_not_found"), ban
    assert stored(server, c.id) == before


async def test_removing_yourself_is_403_not_allowed_leave_instead(client: Client, server: Server) -> None:
    c = await crew(client)
    before = stored(server, c.id)
    for who in (c.moderator, c.member):
        r = await remove(client, who, c.id, who.id)
        assert (r.status, r.error_code) == (403, "not_allowed")
    assert stored(server, c.id) == before


# Banning


async def test_banning_yourself_is_403_not_allowed(client: Client, server: Server) -> None:
    c = await crew(client)
    before = stored(server, c.id)
    for who in (c.owner, c.moderator, c.member):
        r = await remove(client, who, c.id, who.id, ban="true")
        assert (r.status, r.error_code) == (403, "not_allowed")
    assert stored(server, c.id) == before


@pytest.mark.parametrize("ban", ["true", "1"])
async def test_a_banned_user_cannot_join_again_403_banned(client: Client, server: Server, ban: str) -> None:
    c = await crew(client)
    assert (await remove(client, c.owner, c.id, c.member.id, ban=ban)).status == 204
    assert is_banned(server, c.id, c.member.id)
    before = stored(server, c.id)
    r = await join(client, c.member, c.id)
    assert (r.status, r.error_code) == (403, "banned")
    assert stored(server, c.id) == before


@pytest.mark.parametrize("ban", ["false", "0"])
async def test_removing_with_ban_false_does_not_ban(client: Client, server: Server, ban: str) -> None:
    c = await crew(client)
    assert (await remove(client, c.owner, c.id, c.member.id, ban=ban)).status == 204
    assert not is_banned(server, c.id, c.member.id)
    assert (await join(client, c.member, c.id)).status == 200


@pytest.mark.parametrize("kind", ["public", "private"])
async def test_a_banned_user_cannot_be_added_403_banned(client: Client, server: Server, kind: str) -> None:
    c = await crew(client, kind)
    assert (await remove(client, c.moderator, c.id, c.member.id, ban="true")).status == 204
    before = stored(server, c.id)
    for actor in (c.owner, c.moderator):
        r = await add(client, actor, c.id, c.member.username)
        assert (r.status, r.error_code) == (403, "banned")
    assert stored(server, c.id) == before


async def test_someone_not_a_member_may_be_banned_before_they_come(client: Client, server: Server) -> None:
    c = await crew(client)
    troll = await client.register("troll")
    assert (await remove(client, c.moderator, c.id, troll.id, ban="true")).status == 204
    r = await join(client, troll, c.id)
    assert (r.status, r.error_code) == (403, "banned")
    r = await add(client, c.member, c.id, troll.username)
    assert (r.status, r.error_code) == (403, "banned")


async def test_an_unknown_ban_value_gets_400_invalid_ban(client: Client, server: Server) -> None:
    c = await crew(client)
    before = stored(server, c.id)
    for ban in ("yes", "2", "on", "no", "truee"):
        r = await remove(client, c.owner, c.id, c.member.id, ban=ban)
        assert (r.status, r.error_code) == (400, "invalid_ban"), ban
    assert stored(server, c.id) == before


async def test_a_moderator_may_not_ban_another_moderator(client: Client, server: Server) -> None:
    c = await crew(client)
    other_mod = await client.register()
    await client.join(other_mod, c.id)
    assert (await set_role(client, c.owner, c.id, other_mod.id, "moderator")).status == 200
    before = stored(server, c.id)
    r = await remove(client, c.moderator, c.id, other_mod.id, ban="true")
    assert (r.status, r.error_code) == (403, "not_allowed")
    assert stored(server, c.id) == before


@pytest.mark.parametrize("lifter", ["owner", "moderator"])
async def test_lifting_a_ban_lets_the_user_join_again(client: Client, lifter: str) -> None:
    c = await crew(client)
    assert (await remove(client, c.owner, c.id, c.member.id, ban="true")).status == 204
    assert (await unban(client, getattr(c, lifter), c.id, c.member.id)).status == 204
    assert (await join(client, c.member, c.id)).status == 200


async def test_lifting_a_ban_that_is_not_there_is_204(client: Client, server: Server) -> None:
    c = await crew(client)
    eve = await client.register()
    before = stored(server, c.id)
    for _ in range(2):
        assert (await unban(client, c.owner, c.id, eve.id)).status == 204
    assert stored(server, c.id) == before


async def test_a_member_may_not_lift_a_ban(client: Client, server: Server) -> None:
    c = await crew(client)
    troll = await client.register()
    assert (await remove(client, c.owner, c.id, troll.id, ban="true")).status == 204
    before = stored(server, c.id)
    r = await unban(client, c.member, c.id, troll.id)
    assert (r.status, r.error_code) == (403, "not_allowed")
    assert stored(server, c.id) == before


# Renaming and the topic


@pytest.mark.parametrize("actor", ["owner", "moderator"])
async def test_the_owner_or_a_moderator_renames_the_group_and_sets_its_topic(
    client: Client, server: Server, actor: str
) -> None:
    c = await crew(client)
    name, topic = unique("Renamed"), "  what we talk about  "
    r = await patch(client, getattr(c, actor), c.id, {"name": f" {name} ", "topic": topic})
    assert r.status == 200, r.body
    assert (r.json["group"]["name"], r.json["group"]["topic"], r.json["group"]["role"]) == (name, topic.strip(), actor)
    assert query(server.settings.database, "SELECT name, topic FROM chat_groups WHERE id = %s",
                 (c.id,)) == [(name, topic.strip())]
    seen = (await listed(client, c.member))[c.id]
    assert (seen["name"], seen["topic"]) == (name, topic.strip())


async def test_a_patch_may_change_the_topic_alone_or_the_name_alone(client: Client) -> None:
    c = await crew(client)
    r = await patch(client, c.owner, c.id, {"topic": "only the topic"})
    assert (r.json["group"]["name"], r.json["group"]["topic"]) == (c.group["name"], "only the topic")
    name = unique("only the name")
    r = await patch(client, c.owner, c.id, {"name": name})
    assert (r.json["group"]["name"], r.json["group"]["topic"]) == (name, "only the topic")
    r = await patch(client, c.owner, c.id, {"topic": ""})
    assert (r.json["group"]["name"], r.json["group"]["topic"]) == (name, "")


async def test_a_member_may_not_rename_the_group(client: Client, server: Server) -> None:
    c = await crew(client)
    before = stored(server, c.id)
    r = await patch(client, c.member, c.id, {"name": unique("mine"), "topic": "mine"})
    assert (r.status, r.error_code) == (403, "not_allowed")
    assert stored(server, c.id) == before


async def test_renaming_to_a_taken_name_gets_409_group_exists(client: Client, server: Server) -> None:
    c = await crew(client)
    other = await made(client, c.member)
    before = stored(server, c.id)
    r = await patch(client, c.owner, c.id, {"name": f"  {other['name'].upper()} ", "topic": "not this either"})
    assert (r.status, r.error_code) == (409, "group_exists")
    assert stored(server, c.id) == before


async def test_a_renamed_groups_old_name_is_free_again(client: Client) -> None:
    c = await crew(client)
    assert (await patch(client, c.owner, c.id, {"name": unique("new name")})).status == 200
    assert (await made(client, c.member, name=c.group["name"]))["name"] == c.group["name"]


BAD_EDITS = [
    ({"name": ""}, "invalid_name"), ({"name": "   "}, "invalid_name"), ({"name": "x" * 65}, "invalid_name"),
    ({"name": 5}, "invalid_name"), ({"name": ["x"]}, "invalid_name"), ({"name": "bad\nname"}, "invalid_name"),
    ({"topic": "x" * 251}, "invalid_topic"), ({"topic": 5}, "invalid_topic"), ({"topic": ["x"]}, "invalid_topic"),
    ({"name": "a fine name", "topic": "t" * 251}, "invalid_topic"), ({"name": "", "topic": "fine"}, "invalid_name"),
]


async def test_a_bad_name_or_topic_gets_400_and_changes_nothing(client: Client, server: Server) -> None:
    c = await crew(client)
    before = stored(server, c.id)
    for body, code in BAD_EDITS:
        r = await patch(client, c.owner, c.id, body)
        assert (r.status, r.error_code) == (400, code), (body, r.body)
    assert stored(server, c.id) == before


async def test_a_patch_that_changes_nothing_is_200_and_sends_no_event(client: Client) -> None:
    c = await crew(client)
    cursor = await client.cursor(c.member)
    for body in ({}, {"name": c.group["name"]}, {"topic": ""}, {"name": c.group["name"], "topic": ""}):
        r = await patch(client, c.owner, c.id, body)
        assert r.status == 200, (body, r.body)
        assert (r.json["group"]["name"], r.json["group"]["topic"]) == (c.group["name"], "")
    marker = unique("marker")
    assert (await patch(client, c.owner, c.id, {"name": marker})).status == 200
    events, _ = await collect(client, c.member, cursor, lambda ev: bool(of_type(ev, "group_changed")))
    assert [e["group"]["name"] for e in of_type(events, "group_changed")] == [marker]


async def test_group_changed_reaches_every_member_with_their_own_role(client: Client) -> None:
    c = await crew(client)
    cursors = {who.id: await client.cursor(who) for who in (c.owner, c.moderator, c.member)}
    name = unique("Renamed")
    assert (await patch(client, c.moderator, c.id, {"name": name, "topic": "new topic"})).status == 200
    for who, role in ((c.owner, "owner"), (c.moderator, "moderator"), (c.member, "member")):
        events, _ = await collect(client, who, cursors[who.id], lambda ev: bool(of_type(ev, "group_changed")))
        (changed,) = of_type(events, "group_changed")
        assert set(changed) == {"type", "group"}
        group = changed["group"]
        assert (group["id"], group["name"], group["topic"]) == (c.id, name, "new topic")
        assert (changed["group"]["role"], changed["group"]["joined"]) == (role, True)


async def test_two_renames_racing_both_succeed_and_every_member_sees_both_in_the_order_stored(
    client: Client,
) -> None:
    c = await crew(client)
    cursor = await client.cursor(c.member)
    first, second = unique("first"), unique("second")
    answers = await asyncio.gather(patch(client, c.owner, c.id, {"name": first}),
                                   patch(client, c.moderator, c.id, {"name": second}))
    assert [r.status for r in answers] == [200, 200]
    final = (await listed(client, c.member))[c.id]["name"]
    assert final in (first, second)
    events, _ = await collect(client, c.member, cursor, lambda ev: len(of_type(ev, "group_changed")) >= 2)
    names = [e["group"]["name"] for e in of_type(events, "group_changed")]
    assert sorted(names) == sorted([first, second])
    assert names[-1] == final


# The owner leaving


async def test_when_the_owner_leaves_the_longest_standing_moderator_becomes_owner(server: Server) -> None:
    """The members' polls are waiting when it happens, as a page's are."""
    client = server.client()
    owner, member, early_mod, late_mod = [await client.register(p) for p in ("owner", "member", "early", "late")]
    group = await made(client, owner)
    for account in (member, early_mod, late_mod):  # joined in this order
        await client.join(account, group["id"])
    for account in (late_mod, early_mod):  # made moderators in the other order: the join counts
        assert (await set_role(client, owner, group["id"], account.id, "moderator")).status == 200
    watchers = (member, early_mod)
    cursors = await asyncio.gather(*(quiet_cursor(client, who) for who in watchers))

    def done(events: list[Event]) -> bool:
        return bool(of_type(events, "group_changed")) and bool(of_type(events, "member_changed"))

    waiting = [asyncio.create_task(collect(client, who, cursor, done)) for who, cursor in zip(watchers, cursors,
                                                                                              strict=True)]
    await server.parked(2)
    assert (await leave(client, owner, group["id"])).status == 204
    assert roles_of(await member_list(client, member, group["id"])) == {
        early_mod.id: "owner", late_mod.id: "moderator", member.id: "member"}
    for task, role in zip(waiting, ("member", "owner"), strict=True):
        events, _ = await task
        (changed,) = of_type(events, "group_changed")
        assert (changed["group"]["id"], changed["group"]["role"]) == (group["id"], role)
        (promoted,) = of_type(events, "member_changed")
        assert set(promoted) == {"type", "group_id", "member"}
        assert promoted["group_id"] == group["id"]
        assert without_times([promoted["member"]]) == [member_entry(early_mod, "owner")]


async def test_without_a_moderator_the_longest_standing_member_becomes_owner(client: Client) -> None:
    owner, first, second = [await client.register(p) for p in ("owner", "first", "second")]
    group = await made(client, owner, "private")
    for account in (first, second):
        assert (await add(client, owner, group["id"], account.username)).status == 200
    cursor = await client.cursor(second)
    assert (await leave(client, owner, group["id"])).status == 204
    assert roles_of(await member_list(client, second, group["id"])) == {first.id: "owner", second.id: "member"}
    assert (await listed(client, first))[group["id"]]["role"] == "owner"
    events, _ = await collect(client, second, cursor, lambda ev: bool(of_type(ev, "member_changed")))
    assert [e["member"]["user"] for e in of_type(events, "member_changed")] == [first.user]


async def test_the_new_owner_has_the_owners_powers(client: Client) -> None:
    c = await crew(client)
    assert (await leave(client, c.owner, c.id)).status == 204
    assert (await set_role(client, c.moderator, c.id, c.member.id, "moderator")).status == 200
    assert (await remove(client, c.moderator, c.id, c.member.id)).status == 204


async def test_the_last_member_leaving_leaves_the_group_empty_and_ownerless(client: Client, server: Server) -> None:
    ana, eve = await client.register(), await client.register()
    group = await made(client, ana)
    assert (await leave(client, ana, group["id"])).status == 204
    seen = (await listed(client, eve))[group["id"]]
    assert (seen["members"], seen["role"]) == (0, None)
    assert query(server.settings.database, "SELECT COUNT(*) FROM memberships WHERE group_id = %s",
                 (group["id"],)) == [(0,)]


# Deleting others' messages


@pytest.mark.parametrize("actor", ["owner", "moderator"])
async def test_the_owner_and_moderators_delete_any_message(client: Client, actor: str) -> None:
    c = await crew(client)
    message = await sent(client, c.member, c.id, "against the rules")
    cursor = await client.cursor(c.member)
    assert (await delete(client, getattr(c, actor), c.id, message["seq"])).status == 204
    tombstone = (await history(client, c.member, c.id))[-1]
    assert (tombstone["seq"], tombstone["deleted"], tombstone["text"]) == (message["seq"], True, None)
    events, _ = await collect(client, c.member, cursor, lambda ev: bool(of_type(ev, "message_changed")))
    assert [e["message"]["deleted"] for e in of_type(events, "message_changed")] == [True]


async def test_a_moderator_may_delete_the_owners_message(client: Client) -> None:
    c = await crew(client)
    message = await sent(client, c.owner, c.id, "oops")
    assert (await delete(client, c.moderator, c.id, message["seq"])).status == 204


async def test_a_member_may_not_delete_anothers_message(client: Client) -> None:
    c = await crew(client)
    message = await sent(client, c.moderator, c.id, "stays")
    r = await delete(client, c.member, c.id, message["seq"])
    assert (r.status, r.error_code) == (403, "not_allowed")
    assert (await history(client, c.owner, c.id))[-1] == message


async def test_a_moderator_still_may_not_edit_anothers_message(client: Client) -> None:
    c = await crew(client)
    message = await sent(client, c.member, c.id, "mine")
    r = await client.request("PATCH", f"/api/groups/{c.id}/messages/{message['seq']}", {"text": "yours"},
                             token=c.owner.token)
    assert (r.status, r.error_code) == (403, "not_author")


# Membership events through the long poll


async def test_an_added_users_waiting_poll_gets_membership_joined_and_then_the_groups_messages(
    server: Server,
) -> None:
    client = server.client()
    c = await crew(client, "private")
    dan = await client.register("dan")
    cursor = await client.cursor(dan)
    waiting = asyncio.create_task(collect(client, dan, cursor, lambda ev: bool(of_type(ev, "membership"))))
    await server.parked(1)
    assert (await add(client, c.moderator, c.id, dan.username)).status == 200
    events, cursor = await waiting
    (joined,) = of_type(events, "membership")
    assert (joined["group_id"], joined["joined"]) == (c.id, True)
    assert (joined["group"]["id"], joined["group"]["role"], joined["group"]["kind"]) == (c.id, "member", "private")
    sent_now = await client.send(c.owner, c.id, "welcome, dan")
    events, _ = await collect(client, dan, cursor, lambda ev: bool(messages(ev)))
    assert messages(events) == [sent_now.json["message"]]


async def test_the_other_members_hear_of_an_add_and_a_removal_as_member_events(client: Client) -> None:
    c = await crew(client)
    dan = await client.register("dan")
    cursor = await client.cursor(c.member)
    assert (await add(client, c.owner, c.id, dan.username)).status == 200
    assert (await remove(client, c.moderator, c.id, dan.id)).status == 204
    events, _ = await collect(client, c.member, cursor, lambda ev: len(of_type(ev, "member")) >= 2)
    assert of_type(events, "member") == [
        {"type": "member", "group_id": c.id, "user": dan.user, "joined": True},
        {"type": "member", "group_id": c.id, "user": dan.user, "joined": False},
    ]


@pytest.mark.parametrize("ban", [False, True], ids=["removed", "banned"])
async def test_a_removed_users_parked_poll_is_answered_with_membership_left_carrying_who_removed_them(
    server: Server, ban: bool
) -> None:
    client = server.client()
    c = await crew(client, "private")
    elsewhere = await made(client, c.member)
    cursor = await quiet_cursor(client, c.member)
    parked = asyncio.create_task(client.poll(c.member, cursor, timeout=30))
    await server.parked(1)
    assert (await remove(client, c.moderator, c.id, c.member.id, ban="true" if ban else None)).status == 204
    answer = await parked  # woken by the removal: with nothing to say, it would have waited 30 s
    assert answer.status == 200
    (left,) = of_type(answer.json["events"], "membership")
    assert (left["group_id"], left["joined"], left["removed_by"], left["banned"]) == (
        c.id, False, c.moderator.user, ban)
    assert (left["group"]["id"], left["group"]["joined"], left["group"]["role"]) == (c.id, False, None)
    await client.send(c.owner, c.id, "said after the removal")
    still = await client.send(c.member, elsewhere["id"], "still here")
    events, _ = await collect(client, c.member, answer.json["cursor"], lambda ev: bool(messages(ev)))
    assert messages(events) == [still.json["message"]]


async def test_leaving_oneself_carries_removed_by_null_and_banned_false(client: Client) -> None:
    c = await crew(client)
    cursor = await client.cursor(c.member)
    assert (await leave(client, c.member, c.id)).status == 204
    events, _ = await collect(client, c.member, cursor, lambda ev: bool(of_type(ev, "membership")))
    (left,) = of_type(events, "membership")
    assert (left["joined"], left["removed_by"], left["banned"]) == (False, None, False)


async def test_a_role_change_reaches_the_members_as_member_changed(client: Client) -> None:
    c = await crew(client)
    cursors = {who.id: await client.cursor(who) for who in (c.owner, c.moderator, c.member)}
    r = await set_role(client, c.owner, c.id, c.member.id, "moderator")
    assert r.status == 200
    for who in (c.owner, c.moderator, c.member):
        events, _ = await collect(client, who, cursors[who.id], lambda ev: bool(of_type(ev, "member_changed")))
        assert of_type(events, "member_changed") == [
            {"type": "member_changed", "group_id": c.id, "member": r.json["member"]}]


# What a client knows, kept up to date by the events alone (Zulip's verify_action)


@dataclass
class View:
    """What a client shows of its groups: each joined group's kind, name, topic and the caller's
    role, and each group's members with their roles."""

    groups: dict[int, tuple[str, str, str, str | None]]
    members: dict[int, dict[int, str]]


def group_view(group: dict[str, Any]) -> tuple[str, str, str, str | None]:
    return group["kind"], group["name"], group["topic"], group["role"]


async def fetched(client: Client, who: Account) -> View:
    groups = await mine(client, who)
    return View({i: group_view(g) for i, g in groups.items()},
                {i: roles_of(await member_list(client, who, i)) for i in groups})


async def applied(client: Client, who: Account, view: View, events: list[Event]) -> View:
    """The view after ``events``, in order, as a client applies them (a group it is added to is
    fetched once, as the page does when it opens the group)."""
    groups, members_ = dict(view.groups), {i: dict(m) for i, m in view.members.items()}
    for event in events:
        kind = event["type"]
        if kind == "membership" and event["joined"]:
            groups[event["group_id"]] = group_view(event["group"])
            members_[event["group_id"]] = roles_of(await member_list(client, who, event["group_id"]))
        elif kind == "membership":
            groups.pop(event["group_id"], None)
            members_.pop(event["group_id"], None)
        elif kind == "group_changed":
            groups[event["group"]["id"]] = group_view(event["group"])
        elif kind == "member_changed":
            members_[event["group_id"]][event["member"]["user"]["id"]] = event["member"]["role"]
            if event["member"]["user"]["id"] == who.id:
                kind_, name, topic, _ = groups[event["group_id"]]
                groups[event["group_id"]] = (kind_, name, topic, event["member"]["role"])
        elif kind == "member" and event["group_id"] in members_:
            if event["joined"]:
                members_[event["group_id"]].setdefault(event["user"]["id"], "member")
            else:
                members_[event["group_id"]].pop(event["user"]["id"], None)
    return View(groups, members_)


async def verify(
    client: Client, who: Account, view: View, cursor: str, action: Any, expect: dict[str, int]
) -> tuple[View, str]:
    """Zulip's verify_action: do ``action``, take the events it sends ``who`` (at least ``expect``
    of each type), apply them to the view and compare it with what the server now answers."""
    await action
    if expect:
        events, cursor = await collect(
            client, who, cursor, lambda ev: all(len(of_type(ev, t)) >= n for t, n in expect.items()))
    else:
        answer = await client.poll(who, cursor, timeout=0)
        events, cursor = answer.json["events"], answer.json["cursor"]
    view = await applied(client, who, view, events)
    assert view == await fetched(client, who), (expect, events)
    return view, cursor


async def test_a_client_applying_the_events_of_role_changes_and_renames_ends_with_what_the_server_answers(
    client: Client,
) -> None:
    c = await crew(client)
    carol, dan = await client.register("carol"), await client.register("dan")
    await client.join(carol, c.id)
    cursor = await client.cursor(carol)  # first the cursor, then what the client loads
    view = await fetched(client, carol)
    for action, expect in [
        (set_role(client, c.owner, c.id, carol.id, "moderator"), {"member_changed": 1}),
        (add(client, carol, c.id, dan.username), {"member": 1}),
        (set_role(client, c.owner, c.id, dan.id, "moderator"), {"member_changed": 1}),
        (patch(client, carol, c.id, {"topic": "rules: be kind"}), {"group_changed": 1}),
        (set_role(client, c.owner, c.id, c.moderator.id, "member"), {"member_changed": 1}),
        (remove(client, carol, c.id, c.moderator.id), {"member": 1}),
        (leave(client, c.owner, c.id), {"member": 1, "group_changed": 1, "member_changed": 1}),  # carol: owner
        (set_role(client, carol, c.id, dan.id, "member"), {"member_changed": 1}),
        (patch(client, dan, c.id, {"name": "not allowed"}), {}),  # refused: sends nothing
        (patch(client, carol, c.id, {"name": unique("last")}), {"group_changed": 1}),
    ]:
        view, cursor = await verify(client, carol, view, cursor, action, expect)
    assert view.groups[c.id][3] == "owner"
    assert view.members[c.id] == {carol.id: "owner", dan.id: "member", c.member.id: "member"}


async def test_a_client_applying_the_events_of_being_added_and_removed_ends_with_what_the_server_answers(
    client: Client,
) -> None:
    first, second, third = await crew(client, "private"), await crew(client, "private"), await crew(client)
    dan = await client.register("dan")
    cursor = await client.cursor(dan)
    view = await fetched(client, dan)
    for action, expect in [
        (add(client, first.moderator, first.id, dan.username), {"membership": 1}),
        (add(client, second.owner, second.id, dan.username), {"membership": 1}),
        (add(client, third.member, third.id, dan.username), {"membership": 1}),
        (set_role(client, second.owner, second.id, dan.id, "moderator"), {"member_changed": 1}),
        (set_role(client, second.owner, second.id, second.moderator.id, "member"), {"member_changed": 1}),
        (remove(client, first.owner, first.id, dan.id, ban="true"), {"membership": 1}),
        (remove(client, third.moderator, third.id, dan.id), {"membership": 1}),
        (join(client, dan, third.id), {"membership": 1}),
        (remove(client, dan, second.id, second.moderator.id), {"member": 1}),  # a moderator removes a member
    ]:
        view, cursor = await verify(client, dan, view, cursor, action, expect)
    assert set(view.groups) == {second.id, third.id}
    assert (view.groups[second.id][3], view.groups[third.id][3]) == ("moderator", "member")


# Across processes


async def has_open_polls(client: Client, count: int) -> bool:
    return await metric(client, "chat_open_polls") == count


async def test_a_removal_on_one_process_ends_the_poll_parked_on_another_and_group_changed_crosses(
    chat_processes: Callable[..., ChatProcess], redis_url: str
) -> None:
    http = AsyncHTTPClient(force_instance=True, max_clients=50)
    try:
        one, two = (Client(chat_processes("--redis-url", redis_url).base_url, http) for _ in range(2))
        c = await crew(one, "private")
        watcher_cursor, cursor = await asyncio.gather(quiet_cursor(two, c.moderator), quiet_cursor(two, c.member))
        parked = asyncio.create_task(two.poll(c.member, cursor, timeout=30))
        renamed = asyncio.create_task(collect(two, c.moderator, watcher_cursor,
                                              lambda ev: bool(of_type(ev, "group_changed"))))
        await until(lambda: has_open_polls(two, 2))  # both parked on process two: nothing to say yet
        assert (await remove(one, c.owner, c.id, c.member.id, ban="true")).status == 204
        answer = await parked
        (left,) = of_type(answer.json["events"], "membership")
        assert (left["group_id"], left["joined"], left["removed_by"], left["banned"]) == (
            c.id, False, c.owner.user, True)
        name = unique("crossed")
        assert (await patch(one, c.owner, c.id, {"name": name})).status == 200
        events, _ = await renamed
        (changed,) = of_type(events, "group_changed")
        assert (changed["group"]["name"], changed["group"]["role"]) == (name, "moderator")
        await one.send(c.owner, c.id, "not for the removed")
        after, _ = await collect(two, c.member, answer.json["cursor"], lambda ev: False, limit=1)
        assert messages(after) == [] and of_type(after, "group_changed") == []
    finally:
        http.close()
