"""Who may call what: every route, called by every kind of caller, about every kind of group,
answers exactly the status and error code the contract (and issue 15's design) allows.

The callers (``ROLES``): anonymous; a signed-in user who never joined (non-member); a member;
a moderator; the owner; a banned user and a removed user (both were members and saw the
group's image message, then the owner removed them, with ``?ban=true`` for the first).

The groups (``KINDS``): public, private and direct. A direct group has two members and no
roles that matter, so its rows map the callers thus: ``owner`` is the user who opened it
(``PUT /api/direct/{peer}``, its ``created_by``), ``member`` is that peer (a member from its
start); ``moderator``, ``banned`` and ``removed`` cannot exist there (no one can be made
moderator, removed or banned: those calls are ``403 not_allowed``, as the owner and member rows
show), so those three scenes are not generated (``NOT_IN_A_DIRECT_GROUP`` says why).

Time: one scene per (kind, role) - the group built once - and every route called in it; a
test collects every mismatch into one table. Calls that change something act on objects
of their own, made for them (a message, a user to add, remove or ban), so the order of the
calls does not matter; joining and leaving change the caller's own membership, so they act
on a group built for that call alone.

Each cell is ``(status, detail)``: the error code, or where a redirect goes, or for the
listing routes whether the group is in the list.
"""

from __future__ import annotations

import asyncio
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
import tornado.web
from tornado.routing import PathMatches

from tornado_chat.web.routes import HANDLERS

from .support.http import PASSWORD, Account, Client, Response, unique
from .support.roles import add, direct, join, leave, made, members, patch, remove, set_role, unban
from .support.servers import Server
from .test_images import encode, quadrants, upload

XSRF = "0123456789abcdef0123456789abcdef"
THUMBS_UP = urllib.parse.quote("\U0001f44d", safe="")
ROLES = ("anonymous", "non-member", "member", "moderator", "owner", "banned", "removed")
KINDS = ("public", "private", "direct")
NOT_IN_A_DIRECT_GROUP = {
    "moderator": "a direct group has no moderator: setting a role in it is 403 not_allowed (owner and member rows)",
    "banned": "no one can be banned from a direct group: a ban there is 403 not_allowed (owner and member rows)",
    "removed": "no one can be removed from a direct group: removing is 403 not_allowed (owner and member rows)",
}


@dataclass
class Cast:
    """A group of ``kind`` and a user in each role (None for anonymous). ``poster`` is a member
    who is never the caller, whose messages the caller acts on; in a direct group it is the
    other member (or the opener, for a caller outside it)."""

    kind: str
    group_id: int
    accounts: dict[str, Account | None]
    poster: Account
    image: dict[str, Any]


@dataclass
class Scene:
    server: Server
    client: Client
    cast: Cast
    role: str

    @property
    def actor(self) -> Account | None:
        return self.cast.accounts[self.role]

    @property
    def owner(self) -> Account:
        owner = self.cast.accounts["owner"]
        assert owner is not None
        return owner

    @property
    def g(self) -> int:
        return self.cast.group_id


def ok(r: Response, status: int = 200) -> Response:
    assert r.status == status, r.body
    return r


async def build(client: Client, kind: str) -> Cast:
    """A group of ``kind`` with a user in each role and an image message every member saw."""
    if kind == "direct":
        opener, peer, stranger = await asyncio.gather(*(client.register(p) for p in ("opener", "peer", "stranger")))
        group = ok(await direct(client, opener, peer.username), 201).json["group"]
        ok(await client.send(opener, group["id"], f"hello {NEEDLE}"), 201)  # the peer sees it from here on
        image = ok(await upload(client, opener, group["id"], encode(quadrants(), "PNG")), 201).json["message"]
        ok(await client.send(peer, group["id"], "hi"), 201)
        accounts: dict[str, Account | None] = {"anonymous": None, "non-member": stranger, "member": peer,
                                               "owner": opener}
        return Cast(kind, group["id"], accounts, opener, image["image"])
    names = ("owner", "moderator", "member", "banned", "removed", "stranger", "poster")
    owner, moderator, member, banned, removed, stranger, poster = await asyncio.gather(
        *(client.register(n) for n in names))
    group = await made(client, owner, kind)
    for account in (moderator, member, banned, removed, poster):
        if kind == "public":
            ok(await join(client, account, group["id"]))
        else:
            ok(await add(client, owner, group["id"], account.username))
    ok(await set_role(client, owner, group["id"], moderator.id, "moderator"))
    image = ok(await upload(client, owner, group["id"], encode(quadrants(), "PNG")), 201).json["message"]
    ok(await client.send(owner, group["id"], f"seen by all, then {NEEDLE}"), 201)
    ok(await remove(client, owner, group["id"], banned.id, ban="true"), 204)
    ok(await remove(client, owner, group["id"], removed.id), 204)
    accounts = {"anonymous": None, "non-member": stranger, "member": member, "moderator": moderator,
                "owner": owner, "banned": banned, "removed": removed}
    return Cast(kind, group["id"], accounts, poster, image["image"])


# The calls. Each answers a Response, or (status, detail) where the detail is not in the answer.


def token(s: Scene) -> str | None:
    return s.actor.token if s.actor else None


async def act(s: Scene, method: str, path: str, **kwargs: Any) -> Response:
    return await s.client.request(method, path.format(g=s.g), token=token(s), **kwargs)


def other_member(s: Scene) -> Account:
    """Whom the caller acts on in a direct group: its other member (the opener, for a stranger)."""
    opener, peer = s.owner, s.cast.accounts["member"]
    assert peer is not None
    return peer if s.actor is opener else opener


async def posted(s: Scene) -> int:
    """A new text message by someone other than the caller: its seq."""
    author = other_member(s) if s.cast.kind == "direct" else s.cast.poster
    return ok(await s.client.send(author, s.g, unique("target")), 201).json["message"]["seq"]


async def fresh_member(s: Scene) -> Account:
    """A new user the owner adds: someone for the caller to act on."""
    account = await s.client.register("target")
    if s.cast.kind == "direct":
        return account
    ok(await add(s.client, s.owner, s.g, account.username))
    return account


async def target_member(s: Scene) -> Account:
    return other_member(s) if s.cast.kind == "direct" else await fresh_member(s)


async def fresh_ban(s: Scene) -> Account:
    """A new user the owner has banned (never a member); in a direct group, just a user."""
    account = await s.client.register("banned")
    if s.cast.kind != "direct":
        ok(await remove(s.client, s.owner, s.g, account.id, ban="true"), 204)
    return account


async def in_own_group(s: Scene, call: Callable[[Client, Account | None, int], Awaitable[Response]]) -> Response:
    """Join or leave: the caller's own membership changes, so a group built for this call alone."""
    cast = await build(s.client, s.cast.kind)
    return await call(s.client, cast.accounts[s.role], cast.group_id)


async def second_session(s: Scene) -> str | None:
    """Signing out ends a session: a second one of the caller's, so that the others go on."""
    if s.actor is None:
        return None
    r = ok(await s.client.request("POST", "/api/session", {"username": s.actor.username, "password": PASSWORD}))
    return r.json["token"]


async def searching(s: Scene) -> Response | tuple[int, str | None]:
    """Whether a search of every group the caller may see finds the group's message."""
    r = await act(s, "GET", f"/api/search?q={NEEDLE}")
    if r.status != 200:
        return r
    return 200, "listed" if any(m["group_id"] == s.g for m in r.json["messages"]) else "unlisted"


async def listing(s: Scene, path: str, key: str) -> Response | tuple[int, str | None]:
    r = await act(s, "GET", path)
    if r.status != 200:
        return r
    return 200, "listed" if any(g["id"] == s.g for g in r.json[key]) else "unlisted"


async def sign_out(s: Scene) -> Response:
    second = await second_session(s)
    return await s.client.request("DELETE", "/api/session", token=second)


async def log_out(s: Scene) -> Response:
    second = await second_session(s)
    return await s.client.request("POST", "/logout", token=second,
                                  headers={"Cookie": f"_xsrf={XSRF}", "X-XSRFToken": XSRF})


async def sign_in(s: Scene) -> Response:
    who = s.actor or s.owner
    return await s.client.request("POST", "/api/session", {"username": who.username, "password": PASSWORD})


async def edit_others(s: Scene) -> Response:
    seq = await posted(s)
    return await act(s, "PATCH", f"/api/groups/{{g}}/messages/{seq}", json_body={"text": "mine now"})


async def delete_others(s: Scene) -> Response:
    seq = await posted(s)
    return await act(s, "DELETE", f"/api/groups/{{g}}/messages/{seq}")


async def react(s: Scene, method: str) -> Response:
    seq = await posted(s)
    return await act(s, method, f"/api/groups/{{g}}/messages/{seq}/reactions/{THUMBS_UP}")


async def add_someone(s: Scene) -> Response:
    newcomer = await s.client.register("newcomer")
    return await add(s.client, s.actor, s.g, newcomer.username)


async def promote(s: Scene) -> Response:
    target = await target_member(s)
    return await set_role(s.client, s.actor, s.g, target.id, "moderator")


async def remove_someone(s: Scene, ban: str | None = None) -> Response:
    target = await target_member(s)
    return await remove(s.client, s.actor, s.g, target.id, ban=ban)


async def lift_a_ban(s: Scene) -> Response:
    target = await fresh_ban(s)
    return await unban(s.client, s.actor, s.g, target.id)


async def rename(s: Scene) -> Response:
    return await patch(s.client, s.actor, s.g, {"name": unique("renamed"), "topic": unique("topic")})


async def upload_image(s: Scene) -> Response:
    return await upload(s.client, s.actor, s.g, encode(quadrants(), "PNG"))


Call = Callable[[Scene], Awaitable["Response | tuple[int, str | None]"]]


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # an example path, for matching the application's routes
    call: Call


ROUTES: dict[str, Route] = {
    # Groups: the listings, then every /api/groups/{id}/... route
    "GET /api/groups (listed?)": Route("GET", "/api/groups", lambda s: listing(s, "/api/groups", "groups")),
    "GET /api/me (listed?)": Route("GET", "/api/me", lambda s: listing(s, "/api/me", "groups")),
    "PATCH group": Route("PATCH", "/api/groups/1", rename),
    "PUT membership": Route("PUT", "/api/groups/1/membership", lambda s: in_own_group(s, join)),
    "DELETE membership": Route("DELETE", "/api/groups/1/membership", lambda s: in_own_group(s, leave)),
    "GET members": Route("GET", "/api/groups/1/members", lambda s: members(s.client, s.actor, s.g)),
    "POST members": Route("POST", "/api/groups/1/members", add_someone),
    "PUT members/{id} role": Route("PUT", "/api/groups/1/members/1", promote),
    "DELETE members/{id}": Route("DELETE", "/api/groups/1/members/1", remove_someone),
    "DELETE members/{id}?ban=true": Route("DELETE", "/api/groups/1/members/1?ban=true",
                                          lambda s: remove_someone(s, "true")),
    "DELETE bans/{id}": Route("DELETE", "/api/groups/1/bans/1", lift_a_ban),
    "GET messages": Route("GET", "/api/groups/1/messages", lambda s: act(s, "GET", "/api/groups/{g}/messages")),
    "POST messages": Route("POST", "/api/groups/1/messages",
                           lambda s: act(s, "POST", "/api/groups/{g}/messages", json_body={"text": "hello"})),
    "POST images": Route("POST", "/api/groups/1/images", upload_image),
    "POST typing": Route("POST", "/api/groups/1/typing", lambda s: act(s, "POST", "/api/groups/{g}/typing")),
    "GET online": Route("GET", "/api/groups/1/online", lambda s: act(s, "GET", "/api/groups/{g}/online")),
    "GET /api/search (found?)": Route("GET", "/api/search", searching),
    "GET /api/search?group_id": Route("GET", "/api/search", lambda s: act(
        s, "GET", f"/api/search?q={NEEDLE}&group_id={{g}}")),
    "PUT read": Route("PUT", "/api/groups/1/read", lambda s: act(
        s, "PUT", "/api/groups/{g}/read", json_body={"seq": 1})),
    "PATCH membership (notify)": Route("PATCH", "/api/groups/1/membership", lambda s: act(
        s, "PATCH", "/api/groups/{g}/membership", json_body={"notify": "mentions"})),
    "PATCH message (another's)": Route("PATCH", "/api/groups/1/messages/1", edit_others),
    "DELETE message (another's)": Route("DELETE", "/api/groups/1/messages/1", delete_others),
    "PUT reaction": Route("PUT", f"/api/groups/1/messages/1/reactions/{THUMBS_UP}", lambda s: react(s, "PUT")),
    "DELETE reaction": Route("DELETE", f"/api/groups/1/messages/1/reactions/{THUMBS_UP}",
                             lambda s: react(s, "DELETE")),
    "GET image": Route("GET", "/images/" + "A" * 32, lambda s: act(s, "GET", s.cast.image["url"])),
    "GET image thumb": Route("GET", "/images/" + "A" * 32 + "/thumb",
                             lambda s: act(s, "GET", s.cast.image["thumb_url"])),
    "PUT /api/direct/{owner}": Route("PUT", "/api/direct/ana", lambda s: direct(s.client, s.actor, s.owner.username)),
    # What the old matrix had besides
    "POST /api/users": Route("POST", "/api/users", lambda s: act(
        s, "POST", "/api/users", json_body={"username": unique("new"), "password": PASSWORD})),
    "POST /api/session": Route("POST", "/api/session", sign_in),
    "DELETE /api/session": Route("DELETE", "/api/session", sign_out),
    "POST /api/groups": Route("POST", "/api/groups", lambda s: act(
        s, "POST", "/api/groups", json_body={"name": unique("g")})),
    "GET /api/events": Route("GET", "/api/events", lambda s: act(s, "GET", "/api/events")),
    "GET /api/me/export": Route("GET", "/api/me/export", lambda s: act(s, "GET", "/api/me/export")),
    # the account itself is closed in test_your_data.py; here only who gets as far as the password
    "DELETE /api/me (a wrong password)": Route("DELETE", "/api/me", lambda s: act(
        s, "DELETE", "/api/me", json_body={"password": "not the password"})),
    "GET /healthz": Route("GET", "/healthz", lambda s: act(s, "GET", "/healthz")),
    "GET /metrics": Route("GET", "/metrics", lambda s: act(s, "GET", "/metrics")),
    "GET /": Route("GET", "/", lambda s: act(s, "GET", "/")),
    "GET /login": Route("GET", "/login", lambda s: act(s, "GET", "/login")),
    "GET /register": Route("GET", "/register", lambda s: act(s, "GET", "/register")),
    "POST /logout": Route("POST", "/logout", log_out),
}

# The cells. Columns: anonymous, non-member, member, moderator, owner, banned, removed.
Cell = tuple[int, str | None] | None
OK, CREATED, GONE = (200, None), (201, None), (204, None)
NEEDLE = "matrixneedle"  # a word in a message of every scene's group, found by searching only where it may be
NOT_SIGNED_IN = (401, "not_authenticated")
NOT_MEMBER = (403, "not_member")
NOT_ALLOWED = (403, "not_allowed")
NOT_AUTHOR = (403, "not_author")
BANNED = (403, "banned")
NO_GROUP = (404, "group_not_found")
NO_IMAGE = (404, "image_not_found")
LISTED, UNLISTED = (200, "listed"), (200, "unlisted")
CANNOT_LEAVE = (409, "cannot_leave_direct")
SKIP: Cell = None  # a caller a direct group cannot have (see NOT_IN_A_DIRECT_GROUP)


def row(anonymous: Cell, non_member: Cell, member: Cell, moderator: Cell, owner: Cell, banned: Cell,
        removed: Cell) -> dict[str, Cell]:
    return dict(zip(ROLES, (anonymous, non_member, member, moderator, owner, banned, removed), strict=True))


def members_only(answer: Cell, outsider: Cell) -> dict[str, Cell]:
    """A route every member may call: ``answer`` to members, ``outsider`` to everyone else signed in."""
    return row(NOT_SIGNED_IN, outsider, answer, answer, answer, outsider, outsider)


EVERYONE = {
    "POST /api/users": row(*[CREATED] * 7),
    "POST /api/session": row(*[OK] * 7),
    "DELETE /api/session": row(NOT_SIGNED_IN, *[GONE] * 6),
    "POST /api/groups": row(NOT_SIGNED_IN, *[CREATED] * 6),
    "GET /api/events": row(NOT_SIGNED_IN, *[OK] * 6),
    "GET /api/me/export": row(NOT_SIGNED_IN, *[OK] * 6),
    "DELETE /api/me (a wrong password)": row(NOT_SIGNED_IN, *[(401, "invalid_credentials")] * 6),
    "GET /healthz": row(*[OK] * 7),
    "GET /metrics": row(*[OK] * 7),
    "GET /": row((302, "/login"), *[OK] * 6),
    "GET /login": row(OK, *[(302, "/")] * 6),
    "GET /register": row(OK, *[(302, "/")] * 6),
    "POST /logout": row(*[(302, "/login")] * 7),
}

PUBLIC = {
    "GET /api/groups (listed?)": row(NOT_SIGNED_IN, LISTED, LISTED, LISTED, LISTED, LISTED, LISTED),
    "GET /api/me (listed?)": row(NOT_SIGNED_IN, UNLISTED, LISTED, LISTED, LISTED, UNLISTED, UNLISTED),
    "PATCH group": row(NOT_SIGNED_IN, NOT_MEMBER, NOT_ALLOWED, OK, OK, NOT_MEMBER, NOT_MEMBER),
    "PUT membership": row(NOT_SIGNED_IN, OK, OK, OK, OK, BANNED, OK),
    "DELETE membership": row(NOT_SIGNED_IN, GONE, GONE, GONE, GONE, GONE, GONE),
    "GET members": members_only(OK, NOT_MEMBER),
    "POST members": members_only(OK, NOT_MEMBER),
    "PUT members/{id} role": row(NOT_SIGNED_IN, NOT_MEMBER, NOT_ALLOWED, NOT_ALLOWED, OK, NOT_MEMBER, NOT_MEMBER),
    "DELETE members/{id}": row(NOT_SIGNED_IN, NOT_MEMBER, NOT_ALLOWED, GONE, GONE, NOT_MEMBER, NOT_MEMBER),
    "DELETE members/{id}?ban=true": row(NOT_SIGNED_IN, NOT_MEMBER, NOT_ALLOWED, GONE, GONE, NOT_MEMBER, NOT_MEMBER),
    "DELETE bans/{id}": row(NOT_SIGNED_IN, NOT_MEMBER, NOT_ALLOWED, GONE, GONE, NOT_MEMBER, NOT_MEMBER),
    "GET messages": members_only(OK, NOT_MEMBER),
    "POST messages": members_only(CREATED, NOT_MEMBER),
    "POST images": members_only(CREATED, NOT_MEMBER),
    "POST typing": members_only(GONE, NOT_MEMBER),
    "GET online": members_only(OK, NOT_MEMBER),
    "PUT read": members_only(OK, NOT_MEMBER),
    "PATCH membership (notify)": members_only(OK, NOT_MEMBER),
    "GET /api/search (found?)": row(NOT_SIGNED_IN, UNLISTED, LISTED, LISTED, LISTED, UNLISTED, UNLISTED),
    "GET /api/search?group_id": members_only(OK, NOT_MEMBER),
    "PATCH message (another's)": members_only(NOT_AUTHOR, NOT_MEMBER),
    "DELETE message (another's)": row(NOT_SIGNED_IN, NOT_MEMBER, NOT_ALLOWED, GONE, GONE, NOT_MEMBER, NOT_MEMBER),
    "PUT reaction": members_only(OK, NOT_MEMBER),
    "DELETE reaction": members_only(OK, NOT_MEMBER),
    "GET image": row(NO_IMAGE, NO_IMAGE, OK, OK, OK, NO_IMAGE, NO_IMAGE),
    "GET image thumb": row(NO_IMAGE, NO_IMAGE, OK, OK, OK, NO_IMAGE, NO_IMAGE),
    "PUT /api/direct/{owner}": row(NOT_SIGNED_IN, *[CREATED] * 6),  # the owner's: a direct group with oneself
    **EVERYONE,
}

# A private group is a group that does not exist to everyone but its members.
PRIVATE = {
    **{route: {role: NO_GROUP if cell == NOT_MEMBER else cell for role, cell in cells.items()}
       for route, cells in PUBLIC.items()},
    "GET /api/groups (listed?)": row(NOT_SIGNED_IN, UNLISTED, LISTED, LISTED, LISTED, UNLISTED, UNLISTED),
    "PUT membership": row(NOT_SIGNED_IN, NO_GROUP, OK, OK, OK, NO_GROUP, NO_GROUP),
    "DELETE membership": row(NOT_SIGNED_IN, NO_GROUP, GONE, GONE, GONE, NO_GROUP, NO_GROUP),
    "POST members": row(NOT_SIGNED_IN, NO_GROUP, NOT_ALLOWED, OK, OK, NO_GROUP, NO_GROUP),
}


def direct_row(anonymous: Cell, non_member: Cell, members: Cell) -> dict[str, Cell]:
    """Columns: anonymous, the stranger, the two members (peer and opener); the rest skipped."""
    return row(anonymous, non_member, members, SKIP, members, SKIP, SKIP)


DIRECT = {
    "GET /api/groups (listed?)": direct_row(NOT_SIGNED_IN, UNLISTED, LISTED),
    "GET /api/me (listed?)": direct_row(NOT_SIGNED_IN, UNLISTED, LISTED),
    "PATCH group": direct_row(NOT_SIGNED_IN, NO_GROUP, NOT_ALLOWED),
    "PUT membership": direct_row(NOT_SIGNED_IN, NO_GROUP, OK),
    "DELETE membership": direct_row(NOT_SIGNED_IN, NO_GROUP, CANNOT_LEAVE),
    "GET members": direct_row(NOT_SIGNED_IN, NO_GROUP, OK),
    "POST members": direct_row(NOT_SIGNED_IN, NO_GROUP, NOT_ALLOWED),
    "PUT members/{id} role": direct_row(NOT_SIGNED_IN, NO_GROUP, NOT_ALLOWED),
    "DELETE members/{id}": direct_row(NOT_SIGNED_IN, NO_GROUP, NOT_ALLOWED),
    "DELETE members/{id}?ban=true": direct_row(NOT_SIGNED_IN, NO_GROUP, NOT_ALLOWED),
    "DELETE bans/{id}": direct_row(NOT_SIGNED_IN, NO_GROUP, NOT_ALLOWED),
    "GET messages": direct_row(NOT_SIGNED_IN, NO_GROUP, OK),
    "POST messages": direct_row(NOT_SIGNED_IN, NO_GROUP, CREATED),
    "POST images": direct_row(NOT_SIGNED_IN, NO_GROUP, CREATED),
    "POST typing": direct_row(NOT_SIGNED_IN, NO_GROUP, GONE),
    "GET online": direct_row(NOT_SIGNED_IN, NO_GROUP, OK),
    "PUT read": direct_row(NOT_SIGNED_IN, NO_GROUP, OK),
    "GET /api/search (found?)": direct_row(NOT_SIGNED_IN, UNLISTED, LISTED),
    "GET /api/search?group_id": direct_row(NOT_SIGNED_IN, NO_GROUP, OK),
    "PATCH membership (notify)": direct_row(NOT_SIGNED_IN, NO_GROUP, OK),
    "PATCH message (another's)": direct_row(NOT_SIGNED_IN, NO_GROUP, NOT_AUTHOR),
    "DELETE message (another's)": direct_row(NOT_SIGNED_IN, NO_GROUP, NOT_ALLOWED),  # the author only
    "PUT reaction": direct_row(NOT_SIGNED_IN, NO_GROUP, OK),
    "DELETE reaction": direct_row(NOT_SIGNED_IN, NO_GROUP, OK),
    "GET image": direct_row(NO_IMAGE, NO_IMAGE, OK),
    "GET image thumb": direct_row(NO_IMAGE, NO_IMAGE, OK),
    # with the opener: a new group for the stranger, the same one for the peer, one with oneself for the opener
    "PUT /api/direct/{owner}": row(NOT_SIGNED_IN, CREATED, OK, SKIP, CREATED, SKIP, SKIP),
    **{route: direct_row(cells["anonymous"], cells["non-member"], cells["member"])
       for route, cells in EVERYONE.items()},
}

EXPECTED = {"public": PUBLIC, "private": PRIVATE, "direct": DIRECT}
SCENES = [(kind, role) for kind in KINDS for role in ROLES if not (kind == "direct" and role in NOT_IN_A_DIRECT_GROUP)]
CELLS = sum(cell is not SKIP for table in EXPECTED.values() for cells in table.values() for cell in cells.values())


def observed(answer: Response | tuple[int, str | None]) -> tuple[int, str | None]:
    if isinstance(answer, tuple):
        return answer
    if answer.status in (301, 302, 303, 307):
        return answer.status, answer.headers.get("Location")
    return answer.status, answer.error_code if answer.status >= 400 else None


def test_the_matrix_covers_every_route_for_every_role_and_kind() -> None:
    for kind, table in EXPECTED.items():
        assert set(table) == set(ROUTES), kind
        for route, cells in table.items():
            assert tuple(cells) == ROLES, (kind, route)
            skipped = {role for role, cell in cells.items() if cell is SKIP}
            assert skipped == (set(NOT_IN_A_DIRECT_GROUP) if kind == "direct" else set()), (kind, route)
    assert CELLS == len(ROUTES) * (len(ROLES) * len(KINDS) - len(NOT_IN_A_DIRECT_GROUP))


def implemented_methods(handler: type[tornado.web.RequestHandler]) -> set[str]:
    return {
        method for method in handler.SUPPORTED_METHODS
        if method not in ("HEAD", "OPTIONS")
        and getattr(handler, method.lower()) is not getattr(tornado.web.RequestHandler, method.lower())
    }


def test_every_api_route_of_the_application_is_in_the_matrix() -> None:
    """Each method of each ``/api/`` and ``/images/`` route: a route added later must join the matrix."""
    missing = []
    for pattern, handler in HANDLERS:
        matcher = PathMatches(pattern)
        if not pattern.startswith(("/api/", "/images/")):
            continue
        for method in implemented_methods(handler):
            if not any(r.method == method and matcher.regex.match(r.path.split("?")[0]) for r in ROUTES.values()):
                missing.append(f"{method} {pattern}")
    assert not missing, missing


@pytest.mark.parametrize(("kind", "role"), SCENES, ids=[f"{kind}-{role}" for kind, role in SCENES])
async def test_each_route_answers_each_caller_exactly_what_the_contract_allows(
    server: Server, kind: str, role: str
) -> None:
    client = server.client()
    scene = Scene(server, client, await build(client, kind), role)
    mismatches = []
    for name, route in ROUTES.items():
        expected = EXPECTED[kind][name][role]
        answer = await route.call(scene)
        found = observed(answer)
        if found != expected:
            body = answer.body[:120].decode(errors="replace") if isinstance(answer, Response) else ""
            mismatches.append(f"  {name:<32} expected {expected!s:<32} got {found!s:<32} {body}")
    assert not mismatches, f"{kind} group, {role} ({len(mismatches)} of {len(ROUTES)} routes):\n" + "\n".join(
        mismatches)
