"""Private groups, direct groups, roles and moderation (issue 15) as a client calls them:
one function per route of the contract's "Private groups, direct messages, roles", each
answering the raw ``Response`` so that a test can check refusals as well as successes."""

from __future__ import annotations

from typing import Any

from .http import Account, Client, Response, unique

ROLE_ORDER = {"owner": 0, "moderator": 1, "member": 2}


async def create(client: Client, owner: Account, kind: str | None = None, *, topic: Any = None,
                 name: str | None = None) -> Response:
    body: dict[str, Any] = {"name": name if name is not None else unique(kind or "group")}
    if kind is not None:
        body["kind"] = kind
    if topic is not None:
        body["topic"] = topic
    return await client.request("POST", "/api/groups", body, token=owner.token)


async def made(client: Client, owner: Account, kind: str | None = None, **extra: Any) -> dict[str, Any]:
    """A new group of ``kind``, as its creator sees it."""
    r = await create(client, owner, kind, **extra)
    assert r.status == 201, r.body
    return r.json["group"]


async def members(client: Client, account: Account | None, group_id: int) -> Response:
    return await client.request("GET", f"/api/groups/{group_id}/members", token=account.token if account else None)


async def member_list(client: Client, account: Account, group_id: int) -> list[dict[str, Any]]:
    r = await members(client, account, group_id)
    assert r.status == 200, r.body
    return r.json["members"]


async def add(client: Client, actor: Account | None, group_id: int, username: Any) -> Response:
    return await client.request("POST", f"/api/groups/{group_id}/members", {"username": username},
                                token=actor.token if actor else None)


async def set_role(client: Client, actor: Account | None, group_id: int, user_id: Any, role: Any) -> Response:
    return await client.request("PUT", f"/api/groups/{group_id}/members/{user_id}", {"role": role},
                                token=actor.token if actor else None)


async def remove(client: Client, actor: Account | None, group_id: int, user_id: Any, ban: Any = None) -> Response:
    query = "" if ban is None else f"?ban={ban}"
    return await client.request("DELETE", f"/api/groups/{group_id}/members/{user_id}{query}",
                                token=actor.token if actor else None)


async def unban(client: Client, actor: Account | None, group_id: int, user_id: Any) -> Response:
    return await client.request("DELETE", f"/api/groups/{group_id}/bans/{user_id}",
                                token=actor.token if actor else None)


async def patch(client: Client, actor: Account | None, group_id: int, body: Any) -> Response:
    return await client.request("PATCH", f"/api/groups/{group_id}", body, token=actor.token if actor else None)


async def join(client: Client, actor: Account | None, group_id: int) -> Response:
    return await client.request("PUT", f"/api/groups/{group_id}/membership", token=actor.token if actor else None)


async def leave(client: Client, actor: Account | None, group_id: int) -> Response:
    return await client.request("DELETE", f"/api/groups/{group_id}/membership", token=actor.token if actor else None)


async def direct(client: Client, actor: Account | None, username: str) -> Response:
    return await client.request("PUT", f"/api/direct/{username}", token=actor.token if actor else None)


async def listed(client: Client, account: Account) -> dict[int, dict[str, Any]]:
    """``GET /api/groups`` by id."""
    r = await client.request("GET", "/api/groups", token=account.token)
    assert r.status == 200, r.body
    return {g["id"]: g for g in r.json["groups"]}


async def mine(client: Client, account: Account) -> dict[int, dict[str, Any]]:
    """``GET /api/me``'s groups by id."""
    r = await client.request("GET", "/api/me", token=account.token)
    assert r.status == 200, r.body
    return {g["id"]: g for g in r.json["groups"]}


def member_entry(account: Account, role: str) -> dict[str, Any]:
    """What a member list says of ``account``, but for ``joined_at``."""
    return {"user": account.user, "role": role}


def without_times(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in e.items() if k != "joined_at"} for e in entries]


def roles_of(entries: list[dict[str, Any]]) -> dict[int, str]:
    return {e["user"]["id"]: e["role"] for e in entries}


def sorted_as_the_contract_says(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Owner, moderators, members, each by username (case-insensitively, as usernames are unique)."""
    return sorted(entries, key=lambda e: (ROLE_ORDER[e["role"]], e["user"]["username"].casefold()))
