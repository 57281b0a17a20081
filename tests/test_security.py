"""Security properties: sessions, sign-ins, requests from other sites, page headers, rate limits
(who may call what is tests/test_authorization.py). README's "Security" section maps each
property to its tests."""

from __future__ import annotations

import asyncio
import base64
import datetime
import email.utils
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from http.cookies import SimpleCookie

import pytest
import tornado.httpserver

from tornado_chat.auth import token_hash
from tornado_chat.config import DEFAULT_LIMITS, PROJECT_ROOT, Settings
from tornado_chat.ratelimit import Limit

from .support.database import query
from .support.http import PASSWORD, Account, Client, Response, free_port, unique
from .support.servers import Server, StartServer
from .test_images import encode, fetch, quadrants, upload

XSRF = "0123456789abcdef0123456789abcdef"  # an _xsrf cookie and its echo, as a page would send them


def set_cookies(response: Response) -> SimpleCookie:
    jar: SimpleCookie = SimpleCookie()
    for header in response.headers.get_list("Set-Cookie"):
        jar.load(header)
    return jar


def sign_in_body(account: Account, password: str | None = None) -> dict[str, str]:
    return {"username": account.username, "password": account.password if password is None else password}


async def metric(client: Client, name: str) -> float:
    text = (await client.request("GET", "/metrics")).body.decode()
    return float(re.search(rf"^{name} (\S+)$", text, re.M)[1])


Proxied = Callable[[Server], Awaitable[Client]]


@pytest.fixture
async def proxied() -> AsyncIterator[Proxied]:
    """The same application behind ``--xheaders`` (as behind nginx): a client that may
    say, in X-Real-Ip and X-Scheme, which address and scheme the request came from."""
    servers: list[tornado.httpserver.HTTPServer] = []

    async def start(server: Server) -> Client:
        port = free_port()
        http_server = tornado.httpserver.HTTPServer(server.app, xheaders=True)
        http_server.listen(port, "127.0.0.1")
        servers.append(http_server)
        return Client(f"http://127.0.0.1:{port}", server.http)

    yield start
    for http_server in servers:
        http_server.stop()
        await http_server.close_all_connections()


def from_address(address: str, scheme: str = "http") -> dict[str, str]:
    return {"X-Real-Ip": address, "X-Scheme": scheme}


# Sessions


async def test_session_tokens_carry_at_least_128_random_bits_and_never_repeat(client: Client) -> None:
    account = await client.register()
    tokens = {account.token}
    for _ in range(20):
        r = await client.request("POST", "/api/session", sign_in_body(account))
        tokens.add(r.json["token"])
    assert len(tokens) == 21
    for token in tokens:
        assert len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))) * 8 >= 128


async def test_the_database_keeps_a_hash_of_each_session_never_the_token(server: Server) -> None:
    client = server.client()
    account = await client.register()
    second = (await client.request("POST", "/api/session", sign_in_body(account))).json["token"]
    rows = {row[0] for row in query(server.settings.database, "SELECT token_hash FROM sessions WHERE user_id = %s",
                                    (account.id,))}
    assert rows == {token_hash(account.token), token_hash(second)}
    assert not rows & {account.token, second}


async def test_signing_in_over_a_planted_session_cookie_gets_a_new_session(server: Server) -> None:
    mallory = await server.client().register()
    victim = await server.client().register()
    browser = server.client(cookies=True)
    await browser.request("POST", "/api/session", sign_in_body(mallory))
    planted = browser.cookies["chat_session"]
    r = await browser.request("POST", "/api/session", sign_in_body(victim),
                              headers={"X-XSRFToken": browser.cookies["_xsrf"]})
    assert r.status == 200
    assert browser.cookies["chat_session"] != planted
    me = await browser.request("GET", "/api/me")
    assert me.json["user"] == victim.user


async def test_a_session_unused_for_longer_than_the_idle_timeout_is_refused(server: Server) -> None:
    client = server.client()
    account = await client.register()
    assert server.settings.session_idle_timeout == 30 * 86400  # the documented default
    query(server.settings.database, "UPDATE sessions SET last_used_at = last_used_at - INTERVAL 31 DAY "
          "WHERE token_hash = %s", (token_hash(account.token),))
    r = await client.request("GET", "/api/me", token=account.token)
    assert (r.status, r.error_code) == (401, "not_authenticated")


async def test_a_session_used_within_the_idle_timeout_works_and_its_last_use_moves_on(server: Server) -> None:
    client = server.client()
    account = await client.register()
    where = (token_hash(account.token),)
    query(server.settings.database, "UPDATE sessions SET last_used_at = last_used_at - INTERVAL 29 DAY "
          "WHERE token_hash = %s", where)
    assert (await client.request("GET", "/api/me", token=account.token)).status == 200
    (used, created), = query(server.settings.database,
                             "SELECT last_used_at, created_at FROM sessions WHERE token_hash = %s", where)
    assert used >= created


async def test_requests_within_the_touch_interval_write_no_last_use(server: Server) -> None:
    client = server.client()
    account = await client.register()
    where = (token_hash(account.token),)
    before = query(server.settings.database, "SELECT last_used_at FROM sessions WHERE token_hash = %s", where)
    for _ in range(5):
        assert (await client.request("GET", "/api/me", token=account.token)).status == 200
    assert query(server.settings.database, "SELECT last_used_at FROM sessions WHERE token_hash = %s", where) == before


async def test_the_long_polls_session_cache_honours_the_idle_timeout(start_server: StartServer) -> None:
    server = await start_server(session_idle_timeout=1.5)
    client = server.client()
    account = await client.register()
    cursor = await client.cursor(account)  # the poll's session is now cached (for up to 60 s)
    await asyncio.sleep(2.0)
    r = await client.poll(account, cursor, timeout=0)
    assert (r.status, r.error_code) == (401, "not_authenticated")


async def test_sessions_past_the_idle_timeout_are_deleted(server: Server) -> None:
    client = server.client()
    idle, active = await client.register(), await client.register()
    query(server.settings.database, "UPDATE sessions SET last_used_at = last_used_at - INTERVAL 31 DAY "
          "WHERE token_hash = %s", (token_hash(idle.token),))
    await server.app.services.accounts.delete_idle_sessions()
    rows = query(server.settings.database, "SELECT user_id FROM sessions WHERE user_id IN (%s, %s)",
                 (idle.id, active.id))
    assert rows == [(active.id,)]


async def test_the_session_cookie_lives_as_long_as_an_unused_session(start_server: StartServer) -> None:
    server = await start_server(session_idle_timeout=12 * 3600)
    r = await server.client().request("POST", "/api/users", {"username": unique("ana"), "password": PASSWORD})
    expires = email.utils.parsedate_to_datetime(set_cookies(r)["chat_session"]["expires"])
    lifetime = (expires - datetime.datetime.now(datetime.UTC)).total_seconds()
    assert 12 * 3600 - 120 < lifetime <= 12 * 3600 + 1


@pytest.mark.parametrize(("scheme", "secure"), [("https", True), ("http", False)])
async def test_session_cookies_are_httponly_samesite_lax_and_secure_over_https(
    server: Server, proxied: Proxied, scheme: str, secure: bool
) -> None:
    behind_proxy = await proxied(server)
    username = unique("ana")
    registered = await behind_proxy.request("POST", "/api/users", {"username": username, "password": PASSWORD},
                                            headers=from_address("192.0.2.7", scheme))
    signed_in = await behind_proxy.request("POST", "/api/session", {"username": username, "password": PASSWORD},
                                           headers=from_address("192.0.2.7", scheme))
    assert (registered.status, signed_in.status) == (201, 200)
    for r in (registered, signed_in):
        cookie = set_cookies(r)["chat_session"]
        assert cookie["httponly"] and cookie["samesite"] == "Lax"
        assert bool(cookie["secure"]) is secure
        assert bool(set_cookies(r)["_xsrf"]["secure"]) is secure


async def test_a_client_claiming_https_without_xheaders_gets_no_secure_cookie(client: Client) -> None:
    r = await client.request("POST", "/api/users", {"username": unique("ana"), "password": PASSWORD},
                             headers={"X-Scheme": "https", "X-Forwarded-Proto": "https"})
    assert not set_cookies(r)["chat_session"]["secure"]


# Signing in


async def test_unknown_user_and_wrong_password_each_run_exactly_one_bcrypt_check(server: Server) -> None:
    """No timing difference between them: both paths do the same bcrypt work, and the
    decoy hash for unknown usernames is made at start-up, not at the first one."""
    client = server.client()
    start = await metric(client, "chat_bcrypt_operations")
    assert start == 1  # the decoy, hashed at start-up
    unknown = await client.request("POST", "/api/session", {"username": unique("nobody"), "password": PASSWORD})
    after_unknown = await metric(client, "chat_bcrypt_operations")
    account = await client.register()
    after_register = await metric(client, "chat_bcrypt_operations")
    wrong = await client.request("POST", "/api/session", sign_in_body(account, "wrong password"))
    after_wrong = await metric(client, "chat_bcrypt_operations")
    assert (after_unknown - start, after_wrong - after_register) == (1, 1)
    assert unknown.status == wrong.status == 401
    assert unknown.json == wrong.json


@pytest.mark.parametrize("counted_in", ["process", "redis"])
async def test_an_address_that_has_not_failed_signs_in_after_a_short_cap(
    start_server: StartServer, proxied: Proxied, redis_url: str, counted_in: str
) -> None:
    """Mallory guessing Ana's password pauses her account, for Mallory, for ever longer;
    Ana, from an address that has not failed, waits at most the short cap."""
    extra = {"redis_url": redis_url} if counted_in == "redis" else {}
    server = await start_server(login_failures_per_user=1, login_clean_address_delay=0.5, **extra)
    ana = await server.client().register()
    client = await proxied(server)
    mallory, anas_phone = from_address("203.0.113.66"), from_address("198.51.100.5")
    for wait in (0, 0, 1.05):  # the 2nd failure pauses the account 1 s, the 3rd (once allowed) 2 s
        await asyncio.sleep(wait)
        r = await client.request("POST", "/api/session", sign_in_body(ana, "guess123"), headers=mallory)
        assert r.status == 401, r.body
    again = await client.request("POST", "/api/session", sign_in_body(ana), headers=mallory)
    assert (again.status, again.error_code) == (429, "too_many_attempts")
    assert int(again.headers["Retry-After"]) == 2
    first = await client.request("POST", "/api/session", sign_in_body(ana), headers=anas_phone)
    assert (first.status, int(first.headers["Retry-After"])) == (429, 1)
    await asyncio.sleep(0.6)
    r = await client.request("POST", "/api/session", sign_in_body(ana), headers=anas_phone)
    assert r.status == 200, r.body


# Requests from other sites


async def signed_in_browser(server: Server) -> Client:
    browser = server.client(cookies=True)
    r = await browser.request("POST", "/api/users", {"username": unique("ana"), "password": PASSWORD})
    assert r.status == 201
    return browser


async def test_a_cross_site_post_with_the_session_cookie_and_xsrf_token_is_refused(server: Server) -> None:
    browser = await signed_in_browser(server)
    before = query(server.settings.database, "SELECT COUNT(*) FROM chat_groups")
    for site in ({"Origin": "https://evil.example"},
                 {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
                 {"Origin": "null"}):
        r = await browser.request("POST", "/api/groups", {"name": unique("g")},
                                  headers={"X-XSRFToken": browser.cookies["_xsrf"], **site})
        assert (r.status, r.error_code) == (403, "forbidden"), site
    assert query(server.settings.database, "SELECT COUNT(*) FROM chat_groups") == before


@pytest.mark.parametrize("site", ["origin", "sec-fetch-site"])
async def test_a_same_origin_post_with_the_session_cookie_passes(server: Server, site: str) -> None:
    browser = await signed_in_browser(server)
    same = {"Origin": server.base_url} if site == "origin" else {"Sec-Fetch-Site": "same-origin"}
    r = await browser.request("POST", "/api/groups", {"name": unique("g")},
                              headers={"X-XSRFToken": browser.cookies["_xsrf"], **same})
    assert r.status == 201, r.body


async def test_a_cross_site_sign_in_form_is_refused(server: Server) -> None:
    account = await server.client().register()
    r = await server.client().request(
        "POST", "/login", body=f"username={account.username}&password={PASSWORD.replace(' ', '+')}&_xsrf={XSRF}",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"_xsrf={XSRF}",
                 "Origin": "https://evil.example"},
    )
    assert r.status == 403
    assert "chat_session" not in set_cookies(r)


def fetch_metadata(site: str | None, mode: str | None = None, dest: str | None = None) -> dict[str, str]:
    """The ``Sec-Fetch-*`` headers a browser sends (none for ``site=None``: a script, an old browser)."""
    sent = {"Sec-Fetch-Site": site, "Sec-Fetch-Mode": mode, "Sec-Fetch-Dest": dest}
    return {name: value for name, value in sent.items() if value is not None}


async def browser_with_an_image(server: Server) -> tuple[Client, Account, str]:
    """A browser signed in by cookie, its account, and the URL of an image it may see."""
    browser = server.client(cookies=True)
    username = unique("ana")
    r = await browser.request("POST", "/api/users", {"username": username, "password": PASSWORD})
    assert r.status == 201
    account = Account(r.json["user"]["id"], username, PASSWORD, r.json["token"])
    script = server.client()
    group = await script.create_group(account)
    uploaded = await upload(script, account, group["id"], encode(quadrants(), "PNG"))
    assert uploaded.status == 201, uploaded.body
    return browser, account, uploaded.json["message"]["image"]["url"]


@pytest.mark.parametrize(("mode", "dest"), [
    ("cors", "empty"), ("no-cors", "script"), ("no-cors", "image"), ("navigate", "object"), ("navigate", "embed"),
])
async def test_a_cross_site_read_of_the_api_with_the_session_cookie_is_refused_with_403_forbidden(
    server: Server, mode: str, dest: str
) -> None:
    browser = await signed_in_browser(server)
    assert (await browser.request("GET", "/api/me")).status == 200
    r = await browser.request("GET", "/api/me", headers=fetch_metadata("cross-site", mode, dest))
    assert (r.status, r.error_code) == (403, "forbidden"), r.body
    assert "user" not in r.json


@pytest.mark.parametrize("thumb", ["", "/thumb"], ids=["image", "thumbnail"])
@pytest.mark.parametrize(("mode", "dest"), [("no-cors", "image"), ("cors", "empty")])
async def test_a_cross_site_image_request_with_the_session_cookie_is_refused_with_403_forbidden(
    server: Server, mode: str, dest: str, thumb: str
) -> None:
    browser, _, url = await browser_with_an_image(server)
    assert (await browser.request("GET", url + thumb)).status == 200
    r = await browser.request("GET", url + thumb, headers=fetch_metadata("cross-site", mode, dest))
    assert (r.status, r.error_code) == (403, "forbidden")
    assert r.headers["Content-Type"].startswith("application/json")


async def test_a_cross_site_top_level_navigation_still_opens_pages_api_answers_and_images(server: Server) -> None:
    """A link from another site is followed: the user chose it and the other site reads nothing."""
    browser, _, url = await browser_with_an_image(server)
    link = fetch_metadata("cross-site", "navigate", "document")
    for path in ("/", "/api/me", url):
        r = await browser.request("GET", path, headers=link)
        assert r.status == 200, (path, r.body)


@pytest.mark.parametrize("site", ["same-origin", "same-site", "none", None])
async def test_same_origin_same_site_typed_and_headerless_browser_requests_pass(
    server: Server, site: str | None
) -> None:
    browser, _, url = await browser_with_an_image(server)
    for path in ("/api/me", url, url + "/thumb"):
        r = await browser.request("GET", path, headers=fetch_metadata(site, "cors", "empty"))
        assert r.status == 200, (path, r.body)


async def test_a_script_with_a_bearer_token_and_no_fetch_metadata_passes(server: Server) -> None:
    _, account, url = await browser_with_an_image(server)
    script = server.client()
    me = await script.request("GET", "/api/me", token=account.token)
    assert (me.status, me.json["user"]) == (200, account.user)
    assert (await fetch(script, account, url)).status == 200


async def test_a_bearer_token_does_not_let_a_cross_site_browser_request_through(server: Server) -> None:
    _, account, url = await browser_with_an_image(server)
    for path in ("/api/me", url):
        r = await server.client().request("GET", path, token=account.token,
                                          headers=fetch_metadata("cross-site", "cors", "empty"))
        assert (r.status, r.error_code) == (403, "forbidden")


@pytest.mark.usefixtures("no_tracebacks")
async def test_the_cross_site_refusal_answers_before_authentication_routing_and_rate_limits(
    start_server: StartServer,
) -> None:
    """No session is looked up (a bad token is not a 401), no route is needed (no 404),
    no XSRF token asked for, and the refused requests take nothing from a rate limit."""
    server = await start_server(register_limit=Limit(rate=1 / 3600, burst=1))
    client = server.client()
    cross_site = fetch_metadata("cross-site", "cors", "empty")
    for method, path, token in (("GET", "/api/me", "not-a-token"), ("GET", "/api/no/such/route", None),
                                ("DELETE", "/api/session", None), ("GET", "/images/" + "A" * 32, None)):
        r = await client.request(method, path, token=token, headers={"Cookie": "chat_session=x", **cross_site})
        assert (r.status, r.error_code) == (403, "forbidden"), (method, path)
    r = await upload(client, None, 1, encode(quadrants(), "PNG"), headers={"Cookie": "chat_session=x", **cross_site})
    assert (r.status, r.error_code) == (403, "forbidden")  # not 401: the streamed upload's prepare never ran
    for _ in range(3):
        body = {"username": unique("u"), "password": PASSWORD}
        r = await client.request("POST", "/api/users", body, headers=cross_site)
        assert (r.status, r.error_code) == (403, "forbidden")
    r = await client.request("POST", "/api/users", {"username": unique("u"), "password": PASSWORD})
    assert r.status == 201, r.body  # the bucket's one token was still there


async def test_image_answers_vary_on_sec_fetch_site(server: Server) -> None:
    """An image is cached for a year: a copy stored for the chat's page must not answer another site."""
    browser, _, url = await browser_with_an_image(server)
    r = await browser.request("GET", url, headers=fetch_metadata("same-origin", "no-cors", "image"))
    assert r.status == 200
    assert "Sec-Fetch-Site" in [v.strip() for v in r.headers["Vary"].split(",")]


# Headers


PAGES = [("GET", "/"), ("GET", "/login"), ("GET", "/register"), ("POST", "/logout")]
ERRORS = [
    ("GET", "/no/such/page", 404), ("GET", "/api/nothing", 404), ("GET", "/images/" + "A" * 32, 404),
    ("PATCH", "/api/me", 405), ("POST", "/login", 403), ("GET", "/api/me", 401),
]


def assert_page_headers(r: Response) -> None:
    csp = dict(part.strip().split(" ", 1) for part in r.headers["Content-Security-Policy"].split(";"))
    assert csp["frame-ancestors"] == "'none'"
    assert "'unsafe-inline'" not in r.headers["Content-Security-Policy"]
    assert "'unsafe-eval'" not in r.headers["Content-Security-Policy"]
    assert "*" not in r.headers["Content-Security-Policy"]
    assert csp["default-src"] in ("'self'", "'none'")
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] in ("same-origin", "no-referrer", "strict-origin-when-cross-origin")


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "signed-in"])
@pytest.mark.parametrize(("method", "path"), PAGES)
async def test_every_page_carries_the_security_headers(server: Server, method: str, path: str, signed_in: bool) -> None:
    client = server.client()
    account = await client.register() if signed_in else None
    headers = {"Cookie": f"_xsrf={XSRF}", "X-XSRFToken": XSRF}
    r = await client.request(method, path, token=account.token if account else None, headers=headers)
    assert r.status in (200, 302), r.body
    assert_page_headers(r)


@pytest.mark.parametrize(("method", "path", "status"), ERRORS)
async def test_every_error_answer_carries_the_security_headers(
    client: Client, method: str, path: str, status: int
) -> None:
    r = await client.request(method, path)
    assert r.status == status
    assert_page_headers(r)


DOCUMENTS = [
    ("GET", "/", 200, {}), ("GET", "/login", 200, {}), ("GET", "/register", 200, {}),
    ("GET", "/no/such/page", 404, {"Accept": "text/html"}), ("POST", "/login", 403, {}),
    ("GET", "/api/nothing", 404, {}),
]
DOCUMENT_IDS = ["chat", "login", "register", "missing-page", "page-error", "json-error"]
# The script calls that need each denied feature: none of them may appear in the pages' scripts.
DENIED_FEATURE_CALLS = {
    "camera": "getUserMedia", "microphone": "getUserMedia", "geolocation": "geolocation", "payment": "PaymentRequest",
    "usb": "navigator.usb", "serial": "navigator.serial", "hid": "navigator.hid", "display-capture": "getDisplayMedia",
    "browsing-topics": "browsingTopics",
}


async def document(client: Client, method: str, path: str, headers: dict[str, str]) -> Response:
    account = await client.register() if path == "/" else None
    return await client.request(method, path, token=account.token if account else None, headers=headers)


def permissions_policy(r: Response) -> dict[str, str]:
    return dict(part.strip().split("=", 1) for part in r.headers["Permissions-Policy"].split(","))


@pytest.mark.parametrize(("method", "path", "status", "headers"), DOCUMENTS, ids=DOCUMENT_IDS)
async def test_pages_and_error_pages_deny_the_powerful_features_with_a_permissions_policy(
    client: Client, method: str, path: str, status: int, headers: dict[str, str]
) -> None:
    r = await document(client, method, path, headers)
    assert r.status == status
    policy = permissions_policy(r)
    denied = {feature: policy.get(feature) for feature in DENIED_FEATURE_CALLS}
    assert denied == dict.fromkeys(DENIED_FEATURE_CALLS, "()")


async def test_the_permissions_policy_denies_nothing_the_pages_scripts_use(client: Client) -> None:
    denied = {feature for feature, allowed in permissions_policy(await client.request("GET", "/login")).items()
              if allowed == "()"}
    assert denied <= set(DENIED_FEATURE_CALLS)  # a feature denied here has its calls listed above
    scripts = [path.read_text() for path in (PROJECT_ROOT / "static").rglob("*.js")]
    used = {feature for feature in denied if any(DENIED_FEATURE_CALLS[feature] in script for script in scripts)}
    assert not used


@pytest.mark.parametrize(("method", "path", "status", "headers"), DOCUMENTS, ids=DOCUMENT_IDS)
async def test_pages_and_error_pages_get_a_window_of_their_own_with_cross_origin_opener_policy(
    client: Client, method: str, path: str, status: int, headers: dict[str, str]
) -> None:
    r = await document(client, method, path, headers)
    assert r.status == status
    assert r.headers["Cross-Origin-Opener-Policy"] == "same-origin"


STATIC_FILES = ["/static/app.css", "/static/js/main.js", "/static/icons/icon-192.png", "/static/favicon.svg",
                "/manifest.webmanifest", "/service-worker.js"]


@pytest.mark.parametrize("path", [*STATIC_FILES, "/static/no-such-file.css", "/favicon.ico"])
async def test_static_files_are_served_with_nosniff(client: Client, path: str) -> None:
    r = await client.request("GET", path)
    assert r.status == (404 if "no-such" in path or path == "/favicon.ico" else 200)
    assert r.headers["X-Content-Type-Options"] == "nosniff"


HTML = {"Accept": "text/html"}
CROSS_SITE = fetch_metadata("cross-site", "cors", "empty")


@pytest.mark.parametrize(("method", "path", "status", "headers"), [
    ("GET", "/api/me", 200, {}), ("GET", "/api/me", 401, {}), ("GET", "/", 200, {}), ("GET", "/login", 200, {}),
    ("GET", "/static/app.css", 200, {}), ("HEAD", "/static/app.css", 200, {}), ("GET", "/service-worker.js", 200, {}),
    ("GET", "/static/no-such-file.css", 404, {}), ("GET", "/api/nothing", 404, {}), ("GET", "/no/such/page", 404, HTML),
    ("PATCH", "/api/me", 405, {}), ("GET", "/healthz", 200, {}), ("GET", "/api/me", 403, CROSS_SITE),
])
async def test_no_answer_names_the_server_software_or_its_version(
    client: Client, method: str, path: str, status: int, headers: dict[str, str]
) -> None:
    account = await client.register() if status == 200 and path in ("/api/me", "/") else None
    r = await client.request(method, path, token=account.token if account else None, headers=headers)
    assert r.status == status
    assert "Server" not in r.headers, r.headers["Server"]


# Rate limits


async def test_sends_past_the_limit_get_429_rate_limited_with_retry_after(start_server: StartServer) -> None:
    server = await start_server(send_limit=Limit(rate=0.5, burst=3))
    client = server.client()
    ana, bob = await client.register(), await client.register()
    group = await client.create_group(ana)
    await client.join(bob, group["id"])
    for i in range(3):
        assert (await client.send(ana, group["id"], f"m{i}")).status == 201
    r = await client.send(ana, group["id"], "one too many")
    assert (r.status, r.error_code) == (429, "rate_limited")
    assert 1 <= int(r.headers["Retry-After"]) <= 2
    assert (await client.send(bob, group["id"], "another user may send")).status == 201
    texts = query(server.settings.database, "SELECT body FROM messages WHERE group_id = %s", (group["id"],))
    assert "one too many" not in {row[0] for row in texts}


async def test_a_limited_sender_may_send_again_after_retry_after(start_server: StartServer) -> None:
    server = await start_server(send_limit=Limit(rate=2.0, burst=1))
    client = server.client()
    ana = await client.register()
    group = await client.create_group(ana)
    assert (await client.send(ana, group["id"], "first")).status == 201
    refused = await client.send(ana, group["id"], "second")
    assert refused.status == 429
    await asyncio.sleep(int(refused.headers["Retry-After"]))
    assert (await client.send(ana, group["id"], "second")).status == 201


async def test_uploads_past_the_limit_get_429_rate_limited(start_server: StartServer) -> None:
    server = await start_server(upload_limit=Limit(rate=0.1, burst=1))
    client = server.client()
    ana = await client.register()
    group = await client.create_group(ana)
    assert (await upload(client, ana, group["id"], encode(quadrants(), "PNG"))).status == 201
    r = await upload(client, ana, group["id"], encode(quadrants(), "PNG"))
    assert (r.status, r.error_code) == (429, "rate_limited")
    assert int(r.headers["Retry-After"]) >= 1


async def test_typing_past_the_limit_gets_429_rate_limited(start_server: StartServer) -> None:
    server = await start_server(typing_limit=Limit(rate=0.1, burst=2))
    client = server.client()
    ana = await client.register()
    group = await client.create_group(ana)
    for _ in range(2):
        assert (await client.request("POST", f"/api/groups/{group['id']}/typing", token=ana.token)).status == 204
    r = await client.request("POST", f"/api/groups/{group['id']}/typing", token=ana.token)
    assert (r.status, r.error_code) == (429, "rate_limited")
    assert int(r.headers["Retry-After"]) >= 1


async def test_registrations_past_the_limit_per_address_get_429_and_create_no_account(
    start_server: StartServer, proxied: Proxied
) -> None:
    server = await start_server(register_limit=Limit(rate=1 / 60, burst=2))
    client = await proxied(server)
    here, elsewhere = from_address("203.0.113.9"), from_address("198.51.100.20")
    for _ in range(2):
        r = await client.request("POST", "/api/users", {"username": unique("u"), "password": PASSWORD}, headers=here)
        assert r.status == 201
    refused_name = unique("u")
    r = await client.request("POST", "/api/users", {"username": refused_name, "password": PASSWORD}, headers=here)
    assert (r.status, r.error_code) == (429, "rate_limited")
    assert int(r.headers["Retry-After"]) >= 1
    assert query(server.settings.database, "SELECT id FROM users WHERE username = %s", (refused_name,)) == []
    form = await client.request(
        "POST", "/register", body=f"username={unique('u')}&password=longenough&_xsrf={XSRF}",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"_xsrf={XSRF}", **here},
    )
    assert form.status == 429 and "Retry-After" in form.headers
    r = await client.request("POST", "/api/users", {"username": unique("u"), "password": PASSWORD}, headers=elsewhere)
    assert r.status == 201


async def test_a_class_of_30_signs_up_from_one_address_at_once_with_the_default_limit(
    start_server: StartServer,
) -> None:
    server = await start_server(register_limit=Limit.parse(DEFAULT_LIMITS["register"]))
    client = server.client()  # every sign-up from 127.0.0.1
    for _ in range(30):
        r = await client.request("POST", "/api/users", {"username": unique("pupil"), "password": PASSWORD})
        assert r.status == 201, r.body


async def test_sign_ups_past_the_default_burst_get_429_with_retry_after(start_server: StartServer) -> None:
    limit = Limit.parse(DEFAULT_LIMITS["register"])
    assert limit is not None
    server = await start_server(register_limit=limit)
    client = server.client()
    for _ in range(limit.burst):
        r = await client.request("POST", "/api/users", {"username": unique("u"), "password": PASSWORD})
        assert r.status == 201, r.body
    r = await client.request("POST", "/api/users", {"username": unique("script"), "password": PASSWORD})
    assert (r.status, r.error_code) == (429, "rate_limited")
    assert 1 <= int(r.headers["Retry-After"]) <= 1 / limit.rate  # the next token, a minute away at most
    assert limit.burst + 3600 * limit.rate <= 100  # what a script gets in its first hour


async def test_a_class_of_30_mistyping_twice_each_is_not_paused_by_the_default_address_limit(
    start_server: StartServer,
) -> None:
    server = await start_server()  # the default failed sign-in limits
    assert server.settings.login_failures_per_address == Settings.login_failures_per_address
    client = server.client()  # every sign-in from 127.0.0.1
    pupils = [await client.register("pupil") for _ in range(30)]
    for pupil in pupils:
        for typo in ("typo one", "typo two"):
            r = await client.request("POST", "/api/session", sign_in_body(pupil, typo))
            assert (r.status, r.error_code) == (401, "invalid_credentials"), r.body
        r = await client.request("POST", "/api/session", sign_in_body(pupil))
        assert r.status == 200, r.body


async def test_failed_sign_ins_past_the_default_address_limit_still_pause_the_address(
    start_server: StartServer,
) -> None:
    server = await start_server()
    client = server.client()
    allowed = server.settings.login_failures_per_address
    for _ in range(allowed + 1):  # one each for many usernames: the per-username count never bites
        r = await client.request("POST", "/api/session", {"username": unique("ghost"), "password": "wrong-pass"})
        assert r.status == 401
    r = await client.request("POST", "/api/session", {"username": unique("ghost"), "password": "wrong-pass"})
    assert (r.status, r.error_code) == (429, "too_many_attempts")
    assert int(r.headers["Retry-After"]) >= 1
