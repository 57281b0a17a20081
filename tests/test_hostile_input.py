"""Hostile input, generated (hypothesis): every route of the application gets arbitrary JSON
values as bodies, wrong types, huge strings, unicode edge cases (NUL, lone surrogates sent as
``\\ud800`` escapes, bidi marks, emoji, combining characters), raw bytes, and path ids and query
values that are not numbers or are out of range.

The rule, checked on every generated request against a real server over real HTTP: never a
5xx and no traceback in the log; a status that docs/openapi.yaml gives for that operation; a 4xx
from the JSON API is the contract's error body with a snake_case code; a refused request changes
no stored row; the server is healthy afterwards.

Hypothesis runs in a worker thread with a blocking HTTP client while the test's event loop
serves, so no fixture is shared between examples. Runs are derandomized with no example
database: CI sees the same cases every time. The number of cases is shown in the run's
"generated cases" section.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .support.database import connect
from .support.fuzz import FUZZ_REPORT
from .support.http import Account, unique
from .support.servers import Server, StartServer
from .test_openapi import SPEC_PATH

EXAMPLES = 200
SETTINGS = settings(
    max_examples=EXAMPLES, derandomize=True, database=None, deadline=None, print_blob=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
ERROR_CODE = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*\Z")
CASES: dict[str, int] = {}
# Failed sign-ins are throttled after 20 per address: with that, every later generated sign-in
# would be a 429 that never reaches the checks behind it.
UNTHROTTLED = {"login_failures_per_user": 10**9, "login_failures_per_address": 10**9}

# Strings that have broken servers before.
EDGE_STRINGS = [
    "", " ", "\x00", "a\x00b", "\ud800", "\udfff", "x\udc80y", "\u202e\u202dabc", "\u200f\u200e", "\ufeff",
    "😀", "👩‍👩‍👧‍👦", "e\u0301\u0301\u0301", "Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o̙̔ͮ̇͐̇", "\u0000" * 3, "\t\n\r", "\u2028\u2029", "é", "İ",
    "ß", "١٢٣", "١", "１２３", "1e3", "0x10", "-0", "+1", "  7  ", "NaN", "Infinity", "null", "true", "[]", "{}",
    "%00", "%2F", "../../etc/passwd", "<script>alert(1)</script>", "' OR 1=1 -- ", "\\", '"', "a" * 4001,
    "b" * 70_000, "😀" * 5000,
]
NUMBER_STRINGS = [
    "0", "-1", "1", "-0", "00", "01", "+1", " 1", "1 ", "1.0", "1e3", "0x1", str(2**31), str(2**63 - 1), str(2**63),
    str(2**64), str(-(2**63)), "9" * 19, "9" * 20, "1" * 400, "١", "١٢", "１", "²", "Ⅻ", "1_0", "NaN", "inf", "",
]

# st.text() never yields lone surrogates, which JSON allows (as \ud800 escapes): mix them in by hand
any_char = st.one_of(st.characters(), st.characters(), st.integers(0xD800, 0xDFFF).map(chr))
hostile_text = st.one_of(
    st.sampled_from(EDGE_STRINGS),
    st.lists(any_char, max_size=40).map("".join),
    st.builds(str.__add__, st.sampled_from(EDGE_STRINGS[:20]), st.text(min_size=1, max_size=20)),
    st.text(min_size=200, max_size=5000),
)
number_like = st.one_of(
    st.sampled_from(NUMBER_STRINGS), st.integers(min_value=-(2**70), max_value=2**70).map(str), st.text(max_size=12)
)
json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70), st.floats(), hostile_text,
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(hostile_text, inner, max_size=4),
    max_leaves=12,
)


def object_with(*fields: str) -> st.SearchStrategy[dict[str, Any]]:
    """A JSON object whose named fields, each present or not, hold any JSON value, or all of
    them hostile strings (the right type, so the checks behind the type checks are reached)."""
    return st.one_of(
        st.fixed_dictionaries({}, optional={name: json_values for name in fields}),
        st.fixed_dictionaries({name: hostile_text for name in fields}),
        st.dictionaries(hostile_text, json_values, max_size=4),
    )


@dataclass(frozen=True)
class Body:
    """A request body as sent: its bytes and its declared Content-Type (None: no header)."""

    data: bytes
    content_type: str | None


def as_json(value: Any) -> bytes:
    # ensure_ascii: lone surrogates go out as \\ud800 escapes, as a client's JSON encoder sends them
    return json.dumps(value).encode()


def bodies(*fields: str) -> st.SearchStrategy[Body]:
    """Bodies for a JSON endpoint: objects with the right fields holding anything, any JSON
    value, raw bytes, and the wrong or no Content-Type."""
    content_types = st.sampled_from(
        ["application/json", "application/json", "application/json; charset=utf-8", "text/plain", None,
         "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/json; charset=latin-1"]
    )
    json_body = st.one_of(object_with(*fields), json_values).map(as_json)
    raw = st.one_of(st.binary(max_size=200), st.sampled_from([b"", b"{", b'{"a":NaN}', b"\xff\xfe", b"[" * 5000]))
    return st.builds(Body, st.one_of(json_body, json_body, raw), content_types)


def fits_in_a_request_head(text: str) -> bool:
    """Tornado closes, unanswered, a connection whose request line and headers pass 64 KiB
    (``max_header_size``; nginx in front refuses them first, with its defaults: 414 for
    a request line over 8 KiB, 400 for a header over 8 KiB): keep URLs and headers below it."""
    return len(quote(text, safe="", errors="surrogatepass")) <= 16_000


head_text = hostile_text.filter(fits_in_a_request_head)


def hostile_id() -> st.SearchStrategy[str]:
    """Path ids: numbers out of range, non-ASCII digits, anything (percent-encoded on the way)."""
    return st.one_of(number_like, head_text.filter(bool))


# The blocking side, run in the worker thread


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Probe:
    """Sends requests to the server and checks the rule on each answer."""

    def __init__(self, server: Server) -> None:
        self.server = server
        parts = urlsplit(server.base_url)
        self.host, self.port = parts.hostname, parts.port
        self.db = connect(server.settings.database)
        self.cases = 0

    def close(self) -> None:
        self.db.close()

    def send(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> Answer:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return Answer(response.status, response.headers, response.read())
        finally:
            conn.close()

    def stored(self) -> tuple[Any, ...]:
        """A fingerprint of every stored row that a request could add or change."""
        with self.db.cursor() as cur:
            cur.execute(
                "SELECT (SELECT COUNT(*) FROM users), (SELECT MAX(id) FROM users),"
                " (SELECT COUNT(*) FROM sessions), (SELECT MAX(id) FROM sessions),"
                " (SELECT COUNT(*) FROM chat_groups), (SELECT SUM(last_seq) FROM chat_groups),"
                " (SELECT COUNT(*) FROM memberships), (SELECT MAX(id) FROM memberships),"
                " (SELECT COUNT(*) FROM messages), (SELECT MAX(id) FROM messages), (SELECT COUNT(*) FROM images),"
                " (SELECT SUM(version) FROM messages), (SELECT SUM(last_pos) FROM chat_groups),"
                " (SELECT COUNT(*) FROM reactions), (SELECT COUNT(*) FROM mentions), (SELECT COUNT(*) FROM group_log)"
            )
            return cur.fetchone()

    def check(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None,
        json_errors: bool = True,
    ) -> Answer:
        """One case: send it and hold the answer to the rule."""
        before = self.stored()
        try:
            answer = self.send(method, path, body, headers)
        except (OSError, http.client.HTTPException) as exc:
            raise AssertionError(f"no answer to {method} {path[:300]!r} {headers!r} {(body or b'')[:300]!r}") from exc
        self.cases += 1
        assert answer.status < 500, (method, path, answer.status, answer.body[:500])
        assert answer.status in described_statuses(method, path), (method, path, answer.status, answer.body[:300])
        if 400 <= answer.status < 500:
            if json_errors:
                assert answer.headers["Content-Type"].startswith("application/json"), answer.headers
                error = answer.json()["error"]
                assert ERROR_CODE.match(error["code"]), error
                assert isinstance(error["message"], str) and error["message"], error
            assert self.stored() == before, (method, path, answer.status, "a refused request changed stored rows")
        return answer

    def assert_healthy(self, account: Account, group_id: int) -> None:
        """The server answers, and the account can still send to the group (joining it again
        first: a generated case may have been the account leaving it)."""
        assert self.send("GET", "/healthz").status == 200
        owner = {"Authorization": f"Bearer {account.token}"}
        joined = self.send("PUT", f"/api/groups/{group_id}/membership", None, owner)
        assert joined.status == 200, joined.body
        sent = self.send(
            "POST", f"/api/groups/{group_id}/messages", as_json({"text": "still here"}),
            {"Authorization": f"Bearer {account.token}", "Content-Type": "application/json"},
        )
        assert sent.status == 201, sent.body


def _described() -> list[tuple[re.Pattern[str], dict[str, Any]]]:
    spec = yaml.safe_load(SPEC_PATH.read_text())
    return [(re.compile(re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(path)) + r"(\?.*)?"), item)
            for path, item in spec["paths"].items()]


DESCRIBED = _described()


def described_statuses(method: str, url: str) -> set[int]:
    """The statuses docs/openapi.yaml gives for this request; for a path or method it does not
    describe, 404 or 405, or the 400 for a form body Tornado cannot parse (it parses one before
    it runs any handler)."""
    for pattern, item in DESCRIBED:
        if pattern.fullmatch(url) and method.lower() in item:
            return {int(status) for status in item[method.lower()]["responses"]}
    return {400, 404, 405}


def bearer(account: Account, body: Body | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {account.token}"}
    if body is not None and body.content_type is not None:
        headers["Content-Type"] = body.content_type
    return headers


def utf8_only(params: dict[str, str]) -> tuple[str, ...]:
    """A value that is not UTF-8 (a lone surrogate, sent raw) is refused by Tornado itself: bad_request."""
    try:
        urlencode(params)
    except UnicodeEncodeError:
        return ("bad_request",)
    return ()


def as_tornado_reads(value: str) -> str:
    """A query value as Tornado hands it to a handler: control characters as spaces, stripped."""
    return re.sub(r"[\x00-\x08\x0e-\x1f]", " ", value).strip()


def plain(body: Body) -> dict[str, str]:
    return {"Content-Type": body.content_type} if body.content_type is not None else {}


def visible(text: str) -> str:
    return "".join(ch for ch in text.encode("utf-8", "surrogatepass").decode("latin-1") if ch >= " " and ch != "\x7f")


def group_path(raw_id: str, tail: str) -> str:
    return f"/api/groups/{quote(raw_id, safe='', errors='surrogatepass')}/{tail}"


@dataclass
class Scene:
    server: Server
    owner: Account
    group_id: int


@pytest.fixture
async def scene(start_server: StartServer) -> Scene:
    server = await start_server(**UNTHROTTLED)
    client = server.client()
    owner = await client.register("fuzz")
    group = await client.create_group(owner, "fuzz")
    return Scene(server, owner, group["id"])


async def run_cases(name: str, scene: Scene, cases: Callable[[Probe], Callable[[], None]]) -> None:
    """Run a hypothesis test (built by ``cases`` around a probe) in a worker thread while
    this loop serves, then check that the server is healthy."""
    probe = Probe(scene.server)
    try:
        await asyncio.to_thread(lambda: cases(probe)())
        await asyncio.to_thread(probe.assert_healthy, scene.owner, scene.group_id)
    finally:
        probe.close()
    CASES[name] = probe.cases
    assert probe.cases >= EXAMPLES // 2
    FUZZ_REPORT.append(f"{name}: {probe.cases} cases, 0 server errors")


def report_total() -> str:
    return f"hostile input: {sum(CASES.values())} cases over {len(CASES)} rules, 0 server errors"



# The JSON bodies


async def test_registering_with_any_body_is_never_a_server_error_and_a_refusal_stores_nothing(
    scene: Scene, no_tracebacks: None
) -> None:
    def cases(probe: Probe) -> Callable[[], None]:
        @SETTINGS
        @given(bodies("username", "password"))
        def register(body: Body) -> None:
            probe.check("POST", "/api/users", body.data, plain(body))

        return register

    await run_cases("POST /api/users", scene, cases)


async def test_signing_in_with_any_body_is_never_a_server_error_and_a_refusal_stores_nothing(
    scene: Scene, no_tracebacks: None
) -> None:
    def cases(probe: Probe) -> Callable[[], None]:
        @SETTINGS
        @given(bodies("username", "password"), st.sampled_from(["unknown", "owner"]))
        def sign_in(body: Body, who: str) -> None:
            if who == "owner":  # a real username with a hostile password
                try:
                    payload = json.loads(body.data)
                except (ValueError, RecursionError):
                    payload = None
                if isinstance(payload, dict):
                    payload["username"] = scene.owner.username
                    body = Body(as_json(payload), body.content_type)
            probe.check("POST", "/api/session", body.data, plain(body))

        return sign_in

    await run_cases("POST /api/session", scene, cases)


async def test_creating_a_group_with_any_body_is_never_a_server_error_and_a_refusal_stores_nothing(
    scene: Scene, no_tracebacks: None
) -> None:
    def cases(probe: Probe) -> Callable[[], None]:
        @SETTINGS
        @given(bodies("name"))
        def create(body: Body) -> None:
            probe.check("POST", "/api/groups", body.data, bearer(scene.owner, body))

        return create

    await run_cases("POST /api/groups", scene, cases)


async def test_sending_a_message_with_any_body_or_group_id_is_never_a_server_error_and_a_refusal_stores_nothing(
    scene: Scene, no_tracebacks: None
) -> None:
    def cases(probe: Probe) -> Callable[[], None]:
        @SETTINGS
        @given(bodies("text", "client_id", "reply_to"), st.one_of(st.just(str(scene.group_id)), hostile_id()))
        def send(body: Body, raw_id: str) -> None:
            probe.check("POST", group_path(raw_id, "messages"), body.data, bearer(scene.owner, body))

        return send

    await run_cases("POST /api/groups/{id}/messages", scene, cases)


async def test_uploading_any_multipart_body_is_never_a_server_error_and_a_refusal_stores_nothing(
    scene: Scene, no_tracebacks: None
) -> None:
    def cases(probe: Probe) -> Callable[[], None]:
        @SETTINGS
        @given(
            st.one_of(st.binary(max_size=300), st.sampled_from([b"\x89PNG\r\n\x1a\n", b"GIF89a", b"\xff\xd8\xff"])),
            st.one_of(st.none(), hostile_text),
            st.sampled_from(["image", "file", "Image"]),
            st.sampled_from(["multipart/form-data; boundary=XyZ", "multipart/form-data", "image/png", None]),
            st.one_of(st.just(str(scene.group_id)), hostile_id()),
            st.one_of(st.none(), number_like),
        )
        def upload(
            image: bytes, client_id: str | None, field: str, content_type: str | None, raw_id: str, reply: str | None
        ) -> None:
            parts = [b'--XyZ\r\nContent-Disposition: form-data; name="' + field.encode() + b'"; filename="x.png"\r\n'
                     b"Content-Type: image/png\r\n\r\n" + image + b"\r\n"]
            if client_id is not None:
                parts.append(b'--XyZ\r\nContent-Disposition: form-data; name="client_id"\r\n\r\n'
                             + client_id.encode("utf-8", "surrogatepass") + b"\r\n")
            if reply is not None:
                parts.append(b'--XyZ\r\nContent-Disposition: form-data; name="reply_to"\r\n\r\n'
                             + reply.encode("utf-8", "surrogatepass") + b"\r\n")
            headers = {"Authorization": f"Bearer {scene.owner.token}"}
            if content_type is not None:
                headers["Content-Type"] = content_type
            probe.check("POST", group_path(raw_id, "images"), b"".join(parts) + b"--XyZ--\r\n", headers)

        return upload

    await run_cases("POST /api/groups/{id}/images", scene, cases)


async def test_changing_a_message_with_any_body_seq_or_emoji_is_never_a_server_error_and_a_refusal_stores_nothing(
    scene: Scene, no_tracebacks: None
) -> None:
    client = scene.server.client()
    for text in ("edit me", "react to me"):
        assert (await client.send(scene.owner, scene.group_id, text)).status == 201
    samples = ["👍", "❤", "❤️", "❤︎", "🏽", "👍🏽", "👨‍👩‍👧", "🇧🇷", "🇧", "1️⃣", "#", "👍👍", "%FF"]
    emoji = st.one_of(st.sampled_from(samples), head_text.filter(bool))
    seq = st.one_of(st.sampled_from(["1", "2"]), hostile_id())

    def cases(probe: Probe) -> Callable[[], None]:
        @settings(SETTINGS, max_examples=EXAMPLES * 2)
        @given(st.sampled_from(["PATCH", "DELETE", "PUT reaction", "DELETE reaction"]), seq, emoji, bodies("text"))
        def change(action: str, raw_seq: str, raw_emoji: str, body: Body) -> None:
            path = group_path(str(scene.group_id), f"messages/{quote(raw_seq, safe='', errors='surrogatepass')}")
            if action.endswith("reaction"):
                quoted = raw_emoji if raw_emoji == "%FF" else quote(raw_emoji, safe="", errors="surrogatepass")
                probe.check(action.split()[0], f"{path}/reactions/{quoted}", None, bearer(scene.owner))
            else:
                probe.check(action, path, body.data if action == "PATCH" else None, bearer(scene.owner, body))

        return change

    await run_cases("message changes", scene, cases)


# Path ids and query values


async def test_any_group_id_on_any_group_route_is_never_a_server_error_and_a_refusal_stores_nothing(
    scene: Scene, no_tracebacks: None
) -> None:
    routes = [("PUT", "membership"), ("DELETE", "membership"), ("GET", "messages"), ("GET", "online"),
              ("POST", "typing")]

    def cases(probe: Probe) -> Callable[[], None]:
        @settings(SETTINGS, max_examples=EXAMPLES * 2)
        @given(st.sampled_from(routes), hostile_id(), st.one_of(st.none(), json_values.map(as_json)))
        def group_route(route: tuple[str, str], raw_id: str, body: bytes | None) -> None:
            method, tail = route
            answer = probe.check(method, group_path(raw_id, tail), body, bearer(scene.owner))
            if answer.status < 300 and raw_id != str(scene.group_id):
                # only a real group's id may be accepted: its canonical decimal form
                assert re.fullmatch(r"[1-9][0-9]*", raw_id), (raw_id, answer.status)

        return group_route

    await run_cases("group routes by id", scene, cases)


async def test_any_history_query_is_never_a_server_error_and_bad_values_get_their_codes(
    scene: Scene, no_tracebacks: None
) -> None:
    def cases(probe: Probe) -> Callable[[], None]:
        @SETTINGS
        @given(st.one_of(st.none(), number_like), st.one_of(st.none(), number_like))
        def history(before: str | None, limit: str | None) -> None:
            params = {k: v for k, v in {"before": before, "limit": limit}.items() if v is not None}
            query = urlencode(params, errors="surrogatepass")
            answer = probe.check("GET", f"/api/groups/{scene.group_id}/messages?{query}", None, bearer(scene.owner))
            if answer.status == 400:
                assert answer.json()["error"]["code"] in ("invalid_before", "invalid_limit") + utf8_only(params)
            else:
                assert answer.status == 200
                for value in (before, limit):
                    assert value is None or re.fullmatch(r"[0-9]+", as_tornado_reads(value)), (before, limit)

        return history

    await run_cases("GET /api/groups/{id}/messages?before&limit", scene, cases)


async def test_any_events_query_is_never_a_server_error_and_bad_values_get_their_codes(
    scene: Scene, no_tracebacks: None
) -> None:
    def cases(probe: Probe) -> Callable[[], None]:
        @SETTINGS
        @given(st.one_of(st.none(), head_text), st.one_of(st.just("0"), number_like))
        def events(cursor: str | None, timeout: str) -> None:
            # with a cursor the timeout is 0: a cursor that happens to be valid must not hold the poll
            params = {"timeout": timeout} if cursor is None else {"cursor": cursor, "timeout": "0"}
            query = urlencode(params, errors="surrogatepass")
            answer = probe.check("GET", f"/api/events?{query}", None, bearer(scene.owner))
            if answer.status == 400:
                assert answer.json()["error"]["code"] in ("invalid_cursor", "invalid_timeout") + utf8_only(params)
            else:
                assert answer.status == 200, answer.status
                if cursor is None:
                    assert re.fullmatch(r"[0-9]+(\.[0-9]+)?", as_tornado_reads(timeout)), timeout

        return events

    await run_cases("GET /api/events?cursor&timeout", scene, cases)


# Every other route, with any method and any body


async def test_every_other_route_with_any_body_is_never_a_server_error(scene: Scene, no_tracebacks: None) -> None:
    routes = [
        ("DELETE", "/api/session"), ("GET", "/api/me"), ("GET", "/api/groups"), ("GET", "/healthz"),
        ("GET", "/metrics"), ("GET", "/images/" + "A" * 32), ("GET", "/images/" + "A" * 32 + "/thumb"),
        ("PATCH", "/api/groups"), ("GET", "/api/users"), ("OPTIONS", "/api/me"), ("GET", "/api/nothing"),
    ]
    # header values as HTTP allows them (Tornado drops a connection whose headers hold control characters)
    tokens = st.one_of(st.just(None), st.just(scene.owner.token), head_text.map(visible))

    def cases(probe: Probe) -> Callable[[], None]:
        @SETTINGS
        @given(st.sampled_from(routes), st.one_of(st.none(), json_values.map(as_json)), tokens)
        def other(route: tuple[str, str], body: bytes | None, token: str | None) -> None:
            method, path = route
            if method == "DELETE" and token == scene.owner.token:
                token = None  # keep the session the health check uses
            headers = {}
            if token is not None:
                headers["Authorization"] = "Bearer " + token
            probe.check(method, path, body, headers)

        return other

    await run_cases("other API routes", scene, cases)


async def test_the_sign_in_forms_with_any_fields_are_never_a_server_error_and_a_refusal_stores_nothing(
    scene: Scene, no_tracebacks: None
) -> None:
    def cases(probe: Probe) -> Callable[[], None]:
        page = probe.send("GET", "/login")
        xsrf = re.search(r"_xsrf=([^;]+)", page.headers["Set-Cookie"]).group(1)

        @SETTINGS
        @given(
            st.sampled_from(["/login", "/register"]),
            st.dictionaries(st.sampled_from(["username", "password", "other"]), hostile_text, max_size=3),
            st.booleans(),
        )
        def form(path: str, fields: dict[str, str], real_user: bool) -> None:
            if real_user:
                fields["username"] = scene.owner.username
            body = urlencode({**fields, "_xsrf": xsrf}, errors="surrogatepass").encode()
            headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"_xsrf={xsrf}"}
            answer = probe.check("POST", path, body, headers, json_errors=False)
            if path == "/login":  # no generated password is the real one: never signed in
                assert answer.status != 302, fields

        return form

    await run_cases("POST /login and /register forms", scene, cases)


async def test_any_cookie_xsrf_token_or_accept_language_is_never_a_server_error(
    scene: Scene, no_tracebacks: None
) -> None:
    routes = [("GET", "/", False), ("GET", "/login", False), ("GET", "/register", False), ("POST", "/logout", False),
              ("GET", "/api/me", True), ("POST", "/api/groups", True), ("DELETE", "/api/session", True)]
    cookie_values = st.one_of(head_text.map(visible), st.sampled_from(["2|1:0|10:1|5:x|4:YQ==|", "2|", "1|x", "|"]))

    def cases(probe: Probe) -> Callable[[], None]:
        @SETTINGS
        @given(
            st.sampled_from(routes),
            st.dictionaries(st.sampled_from(["chat_session", "_xsrf", "other"]), cookie_values, max_size=3),
            st.one_of(st.none(), head_text.map(visible)),
            st.one_of(st.none(), head_text.map(visible), st.sampled_from(["pt-BR;q=abc", "*;q=-1", ";;;,,q=", "zz"])),
        )
        def carried(route: tuple[str, str, bool], cookies: dict[str, str], xsrf: str | None,
                    language: str | None) -> None:
            method, path, json_errors = route
            headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())} if cookies else {}
            if xsrf is not None:
                headers["X-XSRFToken"] = xsrf
            if language is not None:
                headers["Accept-Language"] = language
            body = as_json({"name": unique("carried")}) if method == "POST" else None
            answer = probe.check(method, path, body, headers, json_errors=json_errors)
            if path.startswith("/api/"):  # none of these carries a real session: never let in
                assert answer.status in (401, 403), answer.status

        return carried

    await run_cases("cookies, XSRF tokens, Accept-Language", scene, cases)


# Rules found by the generated cases, pinned as examples


async def test_a_malformed_cursor_does_not_mark_the_user_online(scene: Scene) -> None:
    client = scene.server.client()
    lurker = await client.register("lurker")
    await client.join(lurker, scene.group_id)
    r = await client.request("GET", "/api/events?cursor=not-a-cursor&timeout=0", token=lurker.token)
    assert (r.status, r.error_code) == (400, "invalid_cursor")
    await scene.server.app.services.presence.flush()  # write any pending last-seen now, not 50 ms later
    online = await client.request("GET", f"/api/groups/{scene.group_id}/online", token=scene.owner.token)
    assert lurker.user not in online.json["users"]



@pytest.fixture(scope="module", autouse=True)
def case_summary() -> Iterator[None]:
    yield
    if CASES:
        FUZZ_REPORT.append(report_total())



@pytest.mark.parametrize("timeout", ["١", "１０", "1_0", "-0", "1e1", "nan", "0x1", "+5", ".5", "5."])
async def test_a_timeout_that_is_not_a_plain_decimal_number_is_invalid_timeout(scene: Scene, timeout: str) -> None:
    r = await scene.server.client().request("GET", "/api/events?" + urlencode({"timeout": timeout}),
                                            token=scene.owner.token)
    assert (r.status, r.error_code) == (400, "invalid_timeout")


@pytest.mark.parametrize("timeout", ["0", "0.5", "12", "60", "60.0"])
async def test_a_timeout_that_is_a_plain_decimal_from_0_to_60_is_accepted(scene: Scene, timeout: str) -> None:
    r = await scene.server.client().request("GET", "/api/events?" + urlencode({"timeout": timeout}),
                                            token=scene.owner.token)
    assert r.status == 200, r.body


@pytest.mark.parametrize("field", ["username", "password"])
@pytest.mark.parametrize("value", ["\ud800", "abc\udfffdefgh"])
async def test_signing_in_with_a_lone_surrogate_is_refused_as_that_field_not_a_server_error(
    scene: Scene, field: str, value: str
) -> None:
    body = {"username": scene.owner.username, "password": "a wrong password"}
    body[field] = value
    r = await scene.server.client().request("POST", "/api/session", body)
    assert (r.status, r.error_code) == (400, f"invalid_{field}")
