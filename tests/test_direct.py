"""Direct messages (issue 15): `PUT /api/direct/{username}` opens the one direct group of two users
(or of one user with themself); its name, its `peer`, what cannot be done to it, and how its first
message opens it for the other user."""

from __future__ import annotations

import asyncio
from typing import Any

from .support.database import query
from .support.http import Account, Client, unique
from .support.roles import add, direct, leave, listed, made, member_list, patch, remove, roles_of, set_role, unban
from .support.servers import Server
from .test_changes import delete, history, sent
from .test_events import collect, messages, of_type
from .test_private_groups import GROUP_KEYS


def counts(server: Server) -> tuple[int, ...]:
    db = server.settings.database
    return tuple(query(db, f"SELECT COUNT(*) FROM {t}")[0][0] for t in ("chat_groups", "memberships", "messages"))


async def opened(client: Client, caller: Account, other: Account | str, status: int = 201) -> dict[str, Any]:
    r = await direct(client, caller, other if isinstance(other, str) else other.username)
    assert r.status == status, r.body
    assert set(r.json) == {"group"}
    return r.json["group"]


async def talking(client: Client) -> tuple[Account, Account, dict[str, Any]]:
    """Ana opened a direct group with Bob and said hello: both are members."""
    ana, bob = await client.register("ana"), await client.register("bob")
    group = await opened(client, ana, bob)
    await sent(client, ana, group["id"], "hello")
    return ana, bob, group


def name_of(*accounts: Account) -> str:
    return ", ".join(a.username for a in sorted(accounts, key=lambda a: a.id))


async def test_put_direct_makes_the_group_with_201_then_answers_200_with_the_same_group(
    client: Client, server: Server
) -> None:
    ana, bob = await client.register("ana"), await client.register("bob")
    group = await opened(client, ana, bob)
    assert set(group) == GROUP_KEYS
    assert (group["kind"], group["topic"], group["role"], group["joined"]) == ("direct", "", "member", True)
    assert (group["peer"], group["created_by"]) == (bob.user, ana.user)
    before = counts(server)
    again = await opened(client, ana, bob, 200)
    assert again["id"] == group["id"]
    assert counts(server) == before


async def test_the_other_user_opening_it_gets_the_same_group(client: Client) -> None:
    ana, bob = await client.register("ana"), await client.register("bob")
    group = await opened(client, ana, bob)
    theirs = await opened(client, bob, ana, 200)
    assert theirs["id"] == group["id"]
    assert (theirs["peer"], theirs["role"], theirs["joined"]) == (ana.user, "member", True)


async def test_the_username_is_matched_regardless_of_case(client: Client) -> None:
    ana, bob = await client.register("ana"), await client.register("Bob")
    group = await opened(client, ana, bob.username.upper())
    assert group["peer"] == bob.user  # as the user typed it at sign-up
    assert (await opened(client, ana, bob.username.lower(), 200))["id"] == group["id"]


async def test_an_unknown_or_impossible_username_gets_404_user_not_found(client: Client, server: Server) -> None:
    ana = await client.register()
    before = counts(server)
    for username in ("nobody_here_at_all", "ab", "x" * 33, "no-such-name", "%20", "caf%C3%A9", "%F0%9F%98%80", "a%2Fb"):
        r = await direct(client, ana, username)
        assert (r.status, r.error_code) == (404, "user_not_found"), (username, r.body)
    assert counts(server) == before


async def test_the_name_is_the_two_usernames_in_id_order_joined_by_a_comma(client: Client) -> None:
    first, second = await client.register("zoe"), await client.register("adam")
    assert first.id < second.id
    for caller, other in ((second, first), (first, second)):
        group = await opened(client, caller, other, 201 if caller is second else 200)
        assert group["name"] == f"{first.username}, {second.username}" == name_of(first, second)


async def test_a_user_may_have_one_direct_group_with_themself(client: Client) -> None:
    ana = await client.register("ana")
    group = await opened(client, ana, ana)
    assert (group["name"], group["peer"], group["members"], group["kind"]) == (ana.username, ana.user, 1, "direct")
    assert (await opened(client, ana, ana.username.upper(), 200))["id"] == group["id"]
    note = await sent(client, ana, group["id"], "note to self")
    assert await history(client, ana, group["id"]) == [note]
    assert [m["user"] for m in await member_list(client, ana, group["id"])] == [ana.user]


async def test_direct_groups_are_one_per_pair_even_when_both_open_it_at_once(client: Client, server: Server) -> None:
    ana, bob = await client.register("ana"), await client.register("bob")
    answers = await asyncio.gather(*(direct(client, caller, other.username)
                                     for caller, other in [(ana, bob), (bob, ana)] * 4))
    assert sorted(r.status for r in answers) == [200] * 7 + [201]
    assert len({r.json["group"]["id"] for r in answers}) == 1


async def test_a_direct_groups_name_never_takes_a_groups_name(client: Client) -> None:
    ana, bob = await client.register("ana"), await client.register("bob")
    group = await opened(client, ana, bob)
    public = await made(client, ana, name=group["name"])
    assert public["name"] == group["name"] and public["id"] != group["id"]
    other = await client.register("cleo")
    taken = await made(client, other, name=name_of(ana, other))  # a group named as their direct group would be
    assert (await opened(client, ana, other))["name"] == taken["name"]


async def test_a_direct_group_cannot_be_left(client: Client, server: Server) -> None:
    ana, bob, group = await talking(client)
    before = counts(server)
    for who in (ana, bob):
        r = await leave(client, who, group["id"])
        assert (r.status, r.error_code) == (409, "cannot_leave_direct")
    assert counts(server) == before
    assert group["id"] in await listed(client, ana) and group["id"] in await listed(client, bob)


async def test_renaming_adding_to_or_changing_a_role_in_a_direct_group_is_403_not_allowed(
    client: Client, server: Server
) -> None:
    ana, bob, group = await talking(client)
    cleo = await client.register("cleo")
    g = group["id"]
    before = counts(server)
    for who, other in ((ana, bob), (bob, ana)):
        for r in (
            await patch(client, who, g, {"name": unique("renamed")}),
            await patch(client, who, g, {"topic": "a topic"}),
            await add(client, who, g, cleo.username),
            await set_role(client, who, g, other.id, "moderator"),
            await set_role(client, who, g, who.id, "moderator"),
            await remove(client, who, g, other.id),
            await remove(client, who, g, other.id, ban="true"),
            await remove(client, who, g, cleo.id, ban="true"),
            await unban(client, who, g, cleo.id),
        ):
            assert (r.status, r.error_code) == (403, "not_allowed"), r.body
    assert counts(server) == before
    assert roles_of(await member_list(client, bob, g)) == {ana.id: "member", bob.id: "member"}
    assert (await listed(client, ana))[g]["name"] == group["name"]


async def test_in_a_direct_group_only_the_author_deletes_a_message(client: Client) -> None:
    ana, bob, group = await talking(client)
    mine = await sent(client, bob, group["id"], "mine")
    r = await delete(client, ana, group["id"], mine["seq"])  # ana opened it: no owner's powers here
    assert (r.status, r.error_code) == (403, "not_allowed")
    assert (await delete(client, bob, group["id"], mine["seq"])).status == 204
    assert (await history(client, ana, group["id"]))[-1]["deleted"] is True


async def test_the_first_message_reaches_the_other_users_poll_as_membership_then_message(server: Server) -> None:
    client = server.client()
    ana, bob = await client.register("ana"), await client.register("bob")
    cursor = await client.cursor(bob)
    group = await opened(client, ana, bob)
    waiting = asyncio.create_task(collect(client, bob, cursor, lambda ev: bool(messages(ev))))
    await server.parked(1)
    first = await sent(client, ana, group["id"], "hi bob")
    events, _ = await waiting
    kinds = [e["type"] for e in events if e["type"] in ("membership", "message")]
    assert kinds == ["membership", "message"]
    (joined,) = of_type(events, "membership")
    assert (joined["group_id"], joined["joined"]) == (group["id"], True)
    assert (joined["group"]["kind"], joined["group"]["peer"], joined["group"]["name"]) == (
        "direct", ana.user, name_of(ana, bob))
    assert messages(events) == [first]


async def test_both_are_members_from_its_start_but_the_other_sees_it_listed_and_polled_from_its_first_message(
    server: Server,
) -> None:
    client = server.client()
    ana, bob = await client.register("ana"), await client.register("bob")
    cursor = await client.cursor(bob)
    group = await opened(client, ana, bob)
    assert [(m["user"], m["role"]) for m in await member_list(client, bob, group["id"])] == sorted(
        [(ana.user, "member"), (bob.user, "member")], key=lambda m: m[0]["username"])
    assert await history(client, bob, group["id"]) == []
    quiet, cursor = await collect(client, bob, cursor, lambda ev: False, limit=1.0)
    assert of_type(quiet, "membership") == []
    assert group["id"] not in await listed(client, bob)
    assert group["id"] in await listed(client, ana)
    await sent(client, ana, group["id"], "hi bob")
    events, _ = await collect(client, bob, cursor, lambda ev: bool(messages(ev)))
    assert [e["group_id"] for e in of_type(events, "membership")] == [group["id"]]
    assert group["id"] in await listed(client, bob)


async def test_both_see_the_whole_conversation(client: Client) -> None:
    ana, bob = await client.register("ana"), await client.register("bob")
    bob_cursor = await client.cursor(bob)
    group = await opened(client, ana, bob)
    said = [await sent(client, ana, group["id"], f"line {i}") for i in range(3)]
    said.append(await sent(client, bob, group["id"], "and mine"))
    assert await history(client, bob, group["id"]) == said
    assert await history(client, ana, group["id"]) == said
    events, _ = await collect(client, bob, bob_cursor, lambda ev: len(messages(ev)) >= 4)
    assert messages(events) == said
    assert (await listed(client, bob))[group["id"]]["members"] == 2


async def test_others_never_see_a_direct_group(client: Client) -> None:
    ana, bob, group = await talking(client)
    eve = await client.register("eve")
    assert group["id"] not in await listed(client, eve)
    for r in (await client.request("GET", f"/api/groups/{group['id']}/messages", token=eve.token),
              await client.request("PUT", f"/api/groups/{group['id']}/membership", token=eve.token)):
        assert (r.status, r.error_code) == (404, "group_not_found")
