"""Accounts and sessions: registration, sign-in, sign-out, tokens, cookies, XSRF, throttling."""

from __future__ import annotations

import asyncio

import pytest

from tornado_chat.auth import token_hash

from .support.database import query
from .support.http import PASSWORD, Client, unique
from .support.servers import Server, StartServer


async def test_register_returns_201_with_the_user_and_a_token(client: Client) -> None:
    username = unique("ana")
    r = await client.request("POST", "/api/users", {"username": username, "password": PASSWORD})
    assert r.status == 201
    assert r.json["user"]["username"] == username
    assert isinstance(r.json["user"]["id"], int)
    assert len(r.json["token"]) >= 32


@pytest.mark.parametrize(
    "username",
    ["ab", "a" * 33, "ana-b", "ana b", "joão", "ana\n", "", 123, None, ["ana"], "ana\u0000x"],
)
async def test_username_must_be_3_to_32_ascii_letters_digits_or_underscore(
    client: Client, server: Server, username: object
) -> None:
    before = query(server.settings.database, "SELECT COUNT(*) FROM users")[0][0]
    r = await client.request("POST", "/api/users", {"username": username, "password": PASSWORD})
    assert (r.status, r.error_code) == (400, "invalid_username")
    assert query(server.settings.database, "SELECT COUNT(*) FROM users")[0][0] == before


async def test_usernames_of_3_and_32_characters_are_accepted(client: Client) -> None:
    for username in (unique("x")[-3:].replace("_", "a"), ("Ana_" + unique("")[1:] + "0" * 32)[:32]):
        r = await client.request("POST", "/api/users", {"username": username, "password": PASSWORD})
        assert r.status == 201, (username, r.body)


async def test_usernames_are_unique_regardless_of_case(client: Client) -> None:
    username = unique("Ana")
    assert (await client.request("POST", "/api/users", {"username": username, "password": PASSWORD})).status == 201
    r = await client.request("POST", "/api/users", {"username": username.upper(), "password": PASSWORD})
    assert (r.status, r.error_code) == (409, "username_taken")


async def test_usernames_are_stored_and_shown_as_typed(client: Client) -> None:
    username = "MiXeD_" + unique("")[1:9]
    await client.request("POST", "/api/users", {"username": username, "password": PASSWORD})
    r = await client.request("POST", "/api/session", {"username": username.lower(), "password": PASSWORD})
    assert r.status == 200
    assert r.json["user"]["username"] == username


@pytest.mark.parametrize("password", ["short", "1234567", "", None, 12345678, {"p": 1}, "\ud800" * 8])
async def test_password_must_be_text_of_at_least_8_characters(client: Client, password: object) -> None:
    r = await client.request("POST", "/api/users", {"username": unique("ana"), "password": password})
    assert (r.status, r.error_code) == (400, "invalid_password")


async def test_long_passwords_work_and_count_whole(client: Client) -> None:
    long_password = "p" * 72 + "ç" * 400
    account = await client.register(password=long_password)
    ok = await client.request("POST", "/api/session", {"username": account.username, "password": long_password})
    assert ok.status == 200
    same_first_72_bytes = "p" * 72 + "x"
    r = await client.request("POST", "/api/session", {"username": account.username, "password": same_first_72_bytes})
    assert (r.status, r.error_code) == (401, "invalid_credentials")


async def test_sign_in_returns_200_with_the_user_and_a_new_token(client: Client) -> None:
    account = await client.register()
    r = await client.request("POST", "/api/session", {"username": account.username, "password": PASSWORD})
    assert r.status == 200
    assert r.json["user"] == account.user
    assert r.json["token"] != account.token


async def test_wrong_password_and_unknown_user_get_the_same_401(client: Client) -> None:
    account = await client.register()
    wrong = await client.request("POST", "/api/session", {"username": account.username, "password": "wrong-password"})
    unknown = await client.request("POST", "/api/session", {"username": unique("nobody"), "password": PASSWORD})
    assert wrong.status == unknown.status == 401
    assert wrong.json == unknown.json
    assert wrong.error_code == "invalid_credentials"


async def test_repeated_failures_for_one_username_get_429_with_retry_after(server: Server) -> None:
    client = server.client()
    account = await client.register()
    limit = server.settings.login_failures_per_user
    for _ in range(limit):
        r = await client.request("POST", "/api/session", {"username": account.username, "password": "wrong-pass"})
        assert r.status == 401
    r = await client.request("POST", "/api/session", {"username": account.username, "password": "wrong-pass"})
    assert r.status == 401  # the failure past the limit starts the delay
    r = await client.request("POST", "/api/session", {"username": account.username, "password": PASSWORD})
    assert (r.status, r.error_code) == (429, "too_many_attempts")
    assert int(r.headers["Retry-After"]) >= 1


async def test_repeated_failures_from_one_address_get_429(start_server: StartServer) -> None:
    server = await start_server(login_failures_per_address=3, login_failures_per_user=100)
    client = server.client()
    for _ in range(4):
        r = await client.request("POST", "/api/session", {"username": unique("ghost"), "password": "wrong-pass"})
        assert r.status == 401
    r = await client.request("POST", "/api/session", {"username": unique("other"), "password": "wrong-pass"})
    assert (r.status, r.error_code) == (429, "too_many_attempts")
    assert int(r.headers["Retry-After"]) >= 1


async def test_login_throttle_delay_ends_and_the_owner_can_sign_in_again(start_server: StartServer) -> None:
    server = await start_server(login_failures_per_user=1)
    client = server.client()
    account = await client.register()
    for _ in range(2):
        await client.request("POST", "/api/session", {"username": account.username, "password": "wrong-pass"})
    blocked = await client.request("POST", "/api/session", {"username": account.username, "password": PASSWORD})
    assert blocked.status == 429
    await asyncio.sleep(int(blocked.headers["Retry-After"]) + 0.1)
    r = await client.request("POST", "/api/session", {"username": account.username, "password": PASSWORD})
    assert r.status == 200


async def test_sign_in_sets_an_httponly_samesite_lax_session_cookie(server: Server) -> None:
    browser = server.client(cookies=True)
    account = await server.client().register()
    r = await browser.request("POST", "/api/session", {"username": account.username, "password": PASSWORD})
    assert r.status == 200
    session_cookie = next(c for c in r.headers.get_list("Set-Cookie") if c.startswith("chat_session="))
    assert "HttpOnly" in session_cookie
    assert "SameSite=Lax" in session_cookie
    assert "_xsrf" in browser.cookies


async def test_the_cookie_and_the_token_carry_the_same_session(server: Server) -> None:
    browser = server.client(cookies=True)
    r = await browser.request("POST", "/api/users", {"username": unique("ana"), "password": PASSWORD})
    token = r.json["token"]
    by_cookie = await browser.request("GET", "/api/me")
    by_token = await server.client().request("GET", "/api/me", token=token)
    assert by_cookie.status == by_token.status == 200
    assert by_cookie.json["user"] == by_token.json["user"] == r.json["user"]
    xsrf = {"X-XSRFToken": browser.cookies["_xsrf"]}
    assert (await browser.request("DELETE", "/api/session", headers=xsrf)).status == 204
    assert (await server.client().request("GET", "/api/me", token=token)).status == 401


async def test_sign_out_revokes_that_session_everywhere(server: Server) -> None:
    client = server.client()
    account = await client.register()
    assert (await client.request("DELETE", "/api/session", token=account.token)).status == 204
    r = await client.request("GET", "/api/me", token=account.token)
    assert (r.status, r.error_code) == (401, "not_authenticated")


async def test_sign_out_leaves_the_users_other_sessions(server: Server) -> None:
    client = server.client()
    account = await client.register()
    second = await client.request("POST", "/api/session", {"username": account.username, "password": PASSWORD})
    await client.request("DELETE", "/api/session", token=account.token)
    assert (await client.request("GET", "/api/me", token=second.json["token"])).status == 200


async def test_sessions_and_passwords_are_stored_only_as_hashes(server: Server) -> None:
    account = await server.client().register()
    db = server.settings.database
    (password_hash,) = query(db, "SELECT password_hash FROM users WHERE id = %s", (account.id,))[0]
    assert password_hash.startswith("$2b$") and PASSWORD not in password_hash
    rows = query(db, "SELECT token_hash FROM sessions WHERE user_id = %s", (account.id,))
    stored = [row[0] for row in rows]
    assert stored == [token_hash(account.token)]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/me"), ("GET", "/api/groups"), ("POST", "/api/groups"), ("DELETE", "/api/session"),
        ("PUT", "/api/groups/1/membership"), ("DELETE", "/api/groups/1/membership"),
        ("GET", "/api/groups/1/messages"), ("POST", "/api/groups/1/messages"), ("GET", "/api/groups/1/online"),
        ("POST", "/api/groups/1/typing"), ("GET", "/api/events"),
    ],
)
async def test_requests_without_a_session_get_401(client: Client, method: str, path: str) -> None:
    r = await client.request(method, path, {} if method in ("POST", "PUT") else None)
    assert (r.status, r.error_code) == (401, "not_authenticated")


async def test_a_bad_bearer_token_gets_401_and_never_falls_back_to_the_cookie(server: Server) -> None:
    browser = server.client(cookies=True)
    await browser.request("POST", "/api/users", {"username": unique("ana"), "password": PASSWORD})
    assert (await browser.request("GET", "/api/me")).status == 200
    r = await browser.request("GET", "/api/me", headers={"Authorization": "Bearer not-a-token"})
    assert r.status == 401


async def test_cookie_authenticated_changes_without_the_xsrf_token_get_403(server: Server) -> None:
    browser = server.client(cookies=True)
    await browser.request("POST", "/api/users", {"username": unique("ana"), "password": PASSWORD})
    before = query(server.settings.database, "SELECT COUNT(*) FROM chat_groups")[0][0]
    r = await browser.request("POST", "/api/groups", {"name": unique("g")})
    assert (r.status, r.error_code) == (403, "xsrf_failed")
    r = await browser.request("POST", "/api/groups", {"name": unique("g")}, headers={"X-XSRFToken": "forged"})
    assert (r.status, r.error_code) == (403, "xsrf_failed")
    assert query(server.settings.database, "SELECT COUNT(*) FROM chat_groups")[0][0] == before


async def test_cookie_authenticated_changes_with_the_xsrf_token_work(server: Server) -> None:
    browser = server.client(cookies=True)
    await browser.request("POST", "/api/users", {"username": unique("ana"), "password": PASSWORD})
    r = await browser.request("POST", "/api/groups", {"name": unique("g")},
                              headers={"X-XSRFToken": browser.cookies["_xsrf"]})
    assert r.status == 201


async def test_a_page_signing_in_with_cookies_must_carry_the_xsrf_token(server: Server) -> None:
    account = await server.client().register()
    browser = server.client(cookies=True)
    browser.cookies["_xsrf"] = "0123456789abcdef0123456789abcdef"
    body = {"username": account.username, "password": PASSWORD}
    assert (await browser.request("POST", "/api/session", body)).status == 403
    ok = await browser.request("POST", "/api/session", body, headers={"X-XSRFToken": browser.cookies["_xsrf"]})
    assert ok.status == 200


async def test_bearer_requests_need_no_xsrf_token(client: Client) -> None:
    account = await client.register()
    r = await client.request("POST", "/api/groups", {"name": unique("g")}, token=account.token,
                             headers={"Cookie": "_xsrf=whatever"})
    assert r.status == 201


@pytest.mark.parametrize("path", ["/api/users", "/api/session", "/api/groups"])
async def test_browser_requests_from_another_site_are_refused_with_403(server: Server, path: str) -> None:
    account = await server.client().register()
    body = {"username": unique("eve"), "password": PASSWORD, "name": unique("g")}
    for headers in ({"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
                    {"Origin": "https://evil.example"}):
        r = await server.client().request("POST", path, body, token=account.token, headers=headers)
        assert r.status == 403, (headers, r.body)
        assert r.error_code == "forbidden"


async def test_me_lists_the_user_and_the_joined_groups(client: Client) -> None:
    ana, bob = await client.register(), await client.register()
    mine = await client.create_group(ana)
    await client.create_group(bob)
    r = await client.request("GET", "/api/me", token=ana.token)
    assert r.json["user"] == ana.user
    assert [g["id"] for g in r.json["groups"]] == [mine["id"]]


async def test_password_hashing_runs_off_the_event_loop(start_server: StartServer) -> None:
    server = await start_server(bcrypt_rounds=13)
    client = server.client()
    done: list[str] = []

    async def register() -> None:
        await client.request("POST", "/api/users", {"username": unique("slow"), "password": PASSWORD})
        done.append("register")

    async def health() -> None:
        await asyncio.sleep(0.05)
        assert (await client.request("GET", "/healthz")).status == 200
        done.append("health")

    await asyncio.gather(register(), health())
    assert done == ["health", "register"]
