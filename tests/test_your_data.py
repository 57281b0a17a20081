"""Your own data: the export (``GET /api/me/export``) and closing the account (``DELETE /api/me``)."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest

from tornado_chat.config import Limit

from .support.http import PASSWORD, Account, Client
from .support.servers import StartServer
from .test_changes import delete, history
from .test_events import collect, of_type
from .test_images import encode, quadrants, upload


async def export(client: Client, account: Account) -> zipfile.ZipFile:
    r = await client.request("GET", "/api/me/export", token=account.token)
    assert r.status == 200, r.body
    assert r.headers["Content-Type"] == "application/zip"
    assert r.headers["Content-Disposition"] == f'attachment; filename="tornado_chat-{account.username}.zip"'
    return zipfile.ZipFile(io.BytesIO(r.body))


def member(archive: zipfile.ZipFile, name: str) -> Any:
    return json.loads(archive.read(name))


async def close(client: Client, account: Account, password: Any = PASSWORD) -> Any:
    return await client.request("DELETE", "/api/me", {"password": password}, token=account.token)


async def test_the_export_holds_the_user_their_groups_and_every_message_they_sent(client: Client) -> None:
    ana, bob = await client.register("ana"), await client.register("bob")
    mine, theirs = await client.create_group(ana), await client.create_group(bob)
    await client.join(ana, theirs["id"])
    await client.send(ana, mine["id"], "in my group")
    await client.send(bob, theirs["id"], "bob's, not mine")
    await client.send(ana, theirs["id"], "in bob's group")
    archive = await export(client, ana)
    assert member(archive, "user.json") == ana.user
    assert sorted(g["id"] for g in member(archive, "groups.json")) == sorted([mine["id"], theirs["id"]])
    assert [m["text"] for m in member(archive, "messages.json")] == ["in my group", "in bob's group"]


async def test_exported_messages_are_as_history_shows_them(client: Client) -> None:
    ana = await client.register("ana")
    group = await client.create_group(ana)
    for text in ("one", "two", "three"):
        await client.send(ana, group["id"], text)
    assert (await client.request("PATCH", f"/api/groups/{group['id']}/messages/2", {"text": "two, edited"},
                                 token=ana.token)).status == 200
    assert (await delete(client, ana, group["id"], 3)).status == 204
    archive = await export(client, ana)
    assert member(archive, "messages.json") == await history(client, ana, group["id"])


async def test_the_export_holds_the_users_own_images_byte_for_byte_and_not_deleted_ones(client: Client) -> None:
    ana, bob = await client.register("ana"), await client.register("bob")
    group = await client.create_group(ana)
    await client.join(bob, group["id"])
    kept = (await upload(client, ana, group["id"], encode(quadrants(), "PNG"))).json["message"]
    gone = (await upload(client, ana, group["id"], encode(quadrants(), "JPEG"))).json["message"]
    await upload(client, bob, group["id"], encode(quadrants(), "PNG"))
    assert (await delete(client, ana, group["id"], gone["seq"])).status == 204
    archive = await export(client, ana)
    images = [n for n in archive.namelist() if n.startswith("images/")]
    key = kept["image"]["url"].rsplit("/", 1)[1]
    assert images == [f"images/{key}.png"]
    served = await client.request("GET", kept["image"]["url"], token=ana.token)
    assert archive.read(images[0]) == served.body


async def test_a_user_with_nothing_gets_an_export_of_empty_lists(client: Client) -> None:
    ana = await client.register("ana")
    archive = await export(client, ana)
    assert sorted(archive.namelist()) == ["groups.json", "messages.json", "user.json"]
    assert (member(archive, "groups.json"), member(archive, "messages.json")) == ([], [])


async def test_exporting_needs_a_signed_in_user(client: Client) -> None:
    r = await client.request("GET", "/api/me/export")
    assert (r.status, r.error_code) == (401, "not_authenticated")


async def test_exports_past_the_limit_get_429_rate_limited(start_server: StartServer) -> None:
    server = await start_server(export_limit=Limit(rate=1 / 3600, burst=2))
    client = server.client()
    ana = await client.register("ana")
    statuses = [(await client.request("GET", "/api/me/export", token=ana.token)).status for _ in range(3)]
    assert statuses == [200, 200, 429]


@pytest.mark.parametrize("password", ["wrong password", "", None, 12345678])
async def test_closing_with_anything_but_the_password_is_refused_and_changes_nothing(
    client: Client, password: Any
) -> None:
    ana = await client.register("ana")
    group = await client.create_group(ana)
    await client.send(ana, group["id"], "still here")
    r = await close(client, ana, password)
    assert r.status in (400, 401)
    assert r.error_code == ("invalid_credentials" if r.status == 401 else "invalid_password")
    assert (await client.request("GET", "/api/me", token=ana.token)).status == 200
    assert [m["text"] for m in await history(client, ana, group["id"])] == ["still here"]


async def test_closing_revokes_every_session_and_the_account_cannot_sign_in_again(client: Client) -> None:
    ana = await client.register("ana")
    other = await client.request("POST", "/api/session", {"username": ana.username, "password": PASSWORD})
    assert (await close(client, ana)).status == 204
    for token in (ana.token, other.json["token"]):
        assert (await client.request("GET", "/api/me", token=token)).status == 401
    again = await client.request("POST", "/api/session", {"username": ana.username, "password": PASSWORD})
    assert (again.status, again.error_code) == (401, "invalid_credentials")


async def test_a_closed_accounts_username_stays_taken(client: Client) -> None:
    ana = await client.register("ana")
    assert (await close(client, ana)).status == 204
    r = await client.request("POST", "/api/users", {"username": ana.username.upper(), "password": PASSWORD})
    assert (r.status, r.error_code) == (409, "username_taken")


async def test_closing_makes_every_message_a_tombstone_and_erases_images(client: Client) -> None:
    ana, bob = await client.register("ana"), await client.register("bob")
    group = await client.create_group(bob)
    await client.join(ana, group["id"])
    await client.send(ana, group["id"], "bye")
    picture = (await upload(client, ana, group["id"], encode(quadrants(), "PNG"))).json["message"]
    await client.send(bob, group["id"], "bob stays")
    assert (await close(client, ana)).status == 204
    seen = await history(client, bob, group["id"])
    assert [(m["user"]["id"], m["deleted"], m["text"]) for m in seen] == [
        (ana.id, True, None), (ana.id, True, None), (bob.id, False, "bob stays")]
    assert (await client.request("GET", picture["image"]["url"], token=bob.token)).status == 404


async def test_the_members_see_the_tombstones_and_the_leaving_as_events(client: Client) -> None:
    ana, bob = await client.register("ana"), await client.register("bob")
    group = await client.create_group(bob)
    await client.join(ana, group["id"])
    await client.send(ana, group["id"], "bye")
    cursor = await client.cursor(bob)
    assert (await close(client, ana)).status == 204
    events, _ = await collect(client, bob, cursor, lambda ev: bool(of_type(ev, "message_changed")))
    assert [e["message"]["deleted"] for e in of_type(events, "message_changed")] == [True]


async def test_closing_ends_every_membership_and_an_owned_group_passes_on(client: Client) -> None:
    ana, bob = await client.register("ana"), await client.register("bob")
    owned = await client.create_group(ana)
    await client.join(bob, owned["id"])
    chat = await client.request("PUT", f"/api/direct/{bob.username}", token=ana.token)
    await client.send(ana, chat.json["group"]["id"], "hi")
    assert (await close(client, ana)).status == 204
    members = await client.request("GET", f"/api/groups/{owned['id']}/members", token=bob.token)
    assert [(m["user"]["id"], m["role"]) for m in members.json["members"]] == [(bob.id, "owner")]
    direct = await client.request("GET", f"/api/groups/{chat.json['group']['id']}/members", token=bob.token)
    assert [m["user"]["id"] for m in direct.json["members"]] == [bob.id]


async def test_closing_erases_messages_in_groups_the_user_has_left_too(client: Client) -> None:
    ana, bob = await client.register("ana"), await client.register("bob")
    group = await client.create_group(bob)
    await client.join(ana, group["id"])
    await client.send(ana, group["id"], "said before leaving")
    assert (await client.request("DELETE", f"/api/groups/{group['id']}/membership", token=ana.token)).status == 204
    assert (await close(client, ana)).status == 204
    seen = await history(client, bob, group["id"])
    assert [(m["user"]["id"], m["deleted"], m["text"]) for m in seen] == [(ana.id, True, None)]


async def test_closing_erases_messages_sent_before_the_users_last_join(client: Client) -> None:
    ana, bob = await client.register("ana"), await client.register("bob")
    group = await client.create_group(bob)
    await client.join(ana, group["id"])
    await client.send(ana, group["id"], "said the first time")
    assert (await client.request("DELETE", f"/api/groups/{group['id']}/membership", token=ana.token)).status == 204
    await client.join(ana, group["id"])  # the first message is before this join: ana no longer sees it
    assert (await close(client, ana)).status == 204
    seen = await history(client, bob, group["id"])
    assert [(m["deleted"], m["text"]) for m in seen] == [(True, None)]


async def test_closing_ends_the_membership_of_a_direct_conversation_never_written_in(client: Client) -> None:
    ana, bob = await client.register("ana"), await client.register("bob")
    chat = await client.request("PUT", f"/api/direct/{ana.username}", token=bob.token)  # bob opens it, says nothing
    assert (await close(client, ana)).status == 204
    members = await client.request("GET", f"/api/groups/{chat.json['group']['id']}/members", token=bob.token)
    assert [m["user"]["id"] for m in members.json["members"]] == [bob.id]


async def test_a_closed_account_can_be_neither_added_to_a_group_nor_written_to_directly(client: Client) -> None:
    ana, bob = await client.register("ana"), await client.register("bob")
    group = await client.create_group(bob)
    assert (await close(client, ana)).status == 204
    added = await client.request("POST", f"/api/groups/{group['id']}/members", {"username": ana.username},
                                 token=bob.token)
    direct = await client.request("PUT", f"/api/direct/{ana.username}", token=bob.token)
    assert [(r.status, r.error_code) for r in (added, direct)] == [(404, "user_not_found")] * 2
    members = await client.request("GET", f"/api/groups/{group['id']}/members", token=bob.token)
    assert [m["user"]["id"] for m in members.json["members"]] == [bob.id]
