"""What every handler shares: who is asking, how errors are answered, JSON in and out.

Errors follow the contract: ``{"error": {"code", "message"}}`` with the fitting
status. Authentication is by the session cookie or ``Authorization: Bearer``;
with a Bearer header the cookie is never looked at, so a forged cross-site
request cannot borrow a victim's cookie by adding a bogus token.
"""

from __future__ import annotations

import json
from typing import Any

import tornado.httputil
import tornado.web

from .. import validation, wire
from ..config import SECONDS_PER_DAY
from ..errors import (
    Banned,
    CannotLeaveDirect,
    GroupExists,
    MemberNotFound,
    MessageNotFound,
    NoSuchGroup,
    NotAllowed,
    NotAuthor,
    NotEditable,
    NotMember,
    SessionGone,
    TooManyReactions,
    UserNotFound,
)
from ..models import User
from ..ratelimit import RateLimited
from ..services import Services
from ..store.database import DatabaseUnavailable

SESSION_COOKIE = "chat_session"
MAX_JSON_BODY = 64 * 1024  # far above any request of the contract; a bigger body is a mistake or an attack
UNAVAILABLE_RETRY_AFTER = 2  # seconds: a database restart or a hang is over in a few
ERROR_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
# The pages' policy (pages.py), also that of the HTML error page a browser gets for a missing page.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# Powerful features the pages never use, denied to them and to anything injected into them.
# What they do use is not policy-controlled (notifications and Web Push) or not denied: pasting
# an image reads the paste event's data, not navigator.clipboard, and nothing asks for fullscreen.
PERMISSIONS_POLICY = (
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), serial=(), hid=(), "
    "display-capture=(), browsing-topics=()"
)
HTML_TYPES = ("text/html", "application/xhtml+xml")

_GENERIC_CODES = {
    400: ("bad_request", "the request could not be understood"),
    403: ("forbidden", "requests from other sites are refused"),
    404: ("not_found", "no such thing"),
    405: ("method_not_allowed", "that method is not allowed here"),
    413: ("too_large", "the request is too large"),
}
# What the domain's refusals answer.
_STORAGE_ANSWERS = {
    MessageNotFound: (404, "message_not_found", "no such message"),
    NotAuthor: (403, "not_author", "only its author may edit a message"),
    NotAllowed: (403, "not_allowed", "your role in this group does not allow that"),
    Banned: (403, "banned", "banned from this group"),
    CannotLeaveDirect: (409, "cannot_leave_direct", "a direct conversation cannot be left; close it instead"),
    UserNotFound: (404, "user_not_found", "no such user"),
    MemberNotFound: (404, "member_not_found", "no such member of this group"),
    GroupExists: (409, "group_exists", "a group with that name exists"),
    NotEditable: (409, "not_editable", "only a text message can be edited"),
    TooManyReactions: (409, "too_many_reactions", "a message has at most 20 different emoji"),
    SessionGone: (401, "not_authenticated", "sign in first"),
}
# Rule breaks, missing rows and an unavailable database are answers, not server errors:
# no traceback in the log (an outage is logged once, by storage, and in the access log's 503s).
_ANSWERS = (validation.Invalid, NoSuchGroup, NotMember, RateLimited, DatabaseUnavailable, *_STORAGE_ANSWERS)


class APIError(tornado.web.HTTPError):
    """An answer of the contract: status, error code and a message for people."""

    def __init__(self, status: int, code: str, message: str, retry_after: int | None = None) -> None:
        super().__init__(status, reason=None, log_message=f"{code}: {message}")
        self.code = code
        self.message = message
        self.retry_after = retry_after


class NoServerHeader(tornado.web.OutputTransform):
    """Every answer, whichever handler made it (static files and Tornado's own errors too),
    goes without Tornado's ``Server: TornadoServer/x.y``: the version tells a scanner which
    known bugs to try, and no client needs it."""

    def transform_first_chunk(
        self, status_code: int, headers: tornado.httputil.HTTPHeaders, chunk: bytes, finishing: bool
    ) -> tuple[int, tornado.httputil.HTTPHeaders, bytes]:
        headers.pop("Server", None)
        return status_code, headers, chunk


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


class BaseHandler(tornado.web.RequestHandler):
    current_user: User | None
    session_cached = False  # see auth.SessionCache: only the long poll may use it

    def initialize(self, services: Services) -> None:
        self.services = services

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Content-Type-Options", "nosniff")

    def compute_etag(self) -> str | None:
        """None: JSON answers are ``no-store``, so hashing every body for an ETag is wasted."""
        return None

    async def prepare(self) -> None:
        self._token = self._presented_token()
        if self._token:
            self.current_user = await self.services.accounts.session_user(self._token, cached=self.session_cached)

    def _presented_token(self) -> str | None:
        header = self.request.headers.get("Authorization")
        if header is not None:
            scheme, _, token = header.partition(" ")
            return token.strip() if scheme.lower() == "bearer" else None
        cookie = self.get_signed_cookie(SESSION_COOKIE)
        return cookie.decode("utf-8", "replace") if cookie else None

    def check_xsrf_cookie(self) -> None:
        """Cookie-authenticated changes need the XSRF token; Bearer and cookieless calls do not."""
        if "Authorization" in self.request.headers or not self.request.cookies:
            return
        try:
            super().check_xsrf_cookie()
        except tornado.web.HTTPError as exc:
            raise APIError(403, "xsrf_failed", "missing or wrong XSRF token") from exc

    def require_user(self) -> User:
        if self.current_user is None:
            raise APIError(401, "not_authenticated", "sign in first")
        return self.current_user

    def json_body(self) -> dict[str, Any]:
        content_type = self.request.headers.get("Content-Type", "application/json")
        if content_type.split(";")[0].strip().lower() != "application/json":
            raise APIError(400, "invalid_json", "send a JSON object with Content-Type: application/json")
        if len(self.request.body) > MAX_JSON_BODY:
            raise APIError(413, "too_large", f"a JSON body may have at most {MAX_JSON_BODY} bytes")
        try:
            body = json.loads(self.request.body or b"{}", parse_constant=_reject_constant)
        except (ValueError, RecursionError) as exc:
            raise APIError(400, "invalid_json", "the body is not valid JSON") from exc
        if not isinstance(body, dict):
            raise APIError(400, "invalid_json", "the body must be a JSON object")
        return body

    def group_id(self, raw: str) -> int:
        group_id = validation.path_id(raw)
        if group_id is None:
            raise APIError(404, "group_not_found", "no such group")
        return group_id

    def answer(self, payload: dict[str, Any] | str, status: int = 200) -> None:
        self.set_status(status)
        self.finish(payload if isinstance(payload, str) else wire.dumps(payload))

    def no_content(self) -> None:
        self.set_status(204)
        self.clear_header("Content-Type")
        self.finish()

    def set_cookie(self, name: str, value: str | bytes, *args: Any, **kwargs: Any) -> None:
        """Every cookie, the session's and the XSRF token's alike, is ``Secure`` when the
        request came over HTTPS (behind a proxy: only with ``--xheaders``)."""
        kwargs.setdefault("secure", self.request.protocol == "https")
        super().set_cookie(name, value, *args, **kwargs)

    async def start_session(self, user: User) -> str:
        """Open a new session and set its cookie (and the XSRF cookie that a page
        or a cookie-using script echoes back); returns the token. The cookie lives as
        long as an unused session does: past that the server refuses it anyway."""
        accounts = self.services.accounts
        token = await accounts.open_session(user)
        self.set_signed_cookie(
            SESSION_COOKIE, token, httponly=True, samesite="Lax",
            expires_days=accounts.session_idle_timeout / SECONDS_PER_DAY,
        )
        self.xsrf_token  # noqa: B018 - reading it sets the _xsrf cookie
        return token

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, APIError):
            code, message = exc.code, exc.message
            if exc.retry_after is not None:
                self.set_header("Retry-After", str(exc.retry_after))
        elif isinstance(exc, validation.Invalid):
            status_code, code, message = 400, exc.code, str(exc)
        elif isinstance(exc, NoSuchGroup):
            status_code, code, message = 404, "group_not_found", "no such group"
        elif isinstance(exc, NotMember):
            status_code, code, message = 403, "not_member", "join the group first"
        elif type(exc) in _STORAGE_ANSWERS:
            status_code, code, message = _STORAGE_ANSWERS[type(exc)]
        elif isinstance(exc, RateLimited):
            status_code, code, message = 429, "rate_limited", f"too many requests ({exc.what}); wait and try again"
            self.set_header("Retry-After", str(exc.retry_after))
        elif isinstance(exc, DatabaseUnavailable):
            status_code, code, message = 503, "unavailable", "the database is unavailable; try again"
            self.set_header("Retry-After", str(UNAVAILABLE_RETRY_AFTER))
        elif status_code in _GENERIC_CODES:
            code, message = _GENERIC_CODES[status_code]
        else:
            status_code, code, message = 500, "internal_error", "something went wrong on our side"
        self.error_answer(status_code, code, message)

    def error_answer(self, status: int, code: str, message: str) -> None:
        """An error as JSON; a browser that opens it (a mistyped address) gets a page that
        runs nothing, cannot be framed and leaks no referrer."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_document_headers(ERROR_CSP)
        self.finish(wire.error(code, message))

    def set_document_headers(self, csp: str) -> None:
        """What a browser obeys for a document it shows (a page, an error it opened): ``csp``,
        no framing, no referrer to other sites, none of the powerful features, and a window of
        its own (``Cross-Origin-Opener-Policy``: a page of another site that opened it, or that
        it opens, gets no handle on it to probe or navigate)."""
        self.set_header("Content-Security-Policy", csp)
        self.set_header("Referrer-Policy", "same-origin")
        self.set_header("X-Frame-Options", "DENY")
        self.set_header("Permissions-Policy", PERMISSIONS_POLICY)
        self.set_header("Cross-Origin-Opener-Policy", "same-origin")

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, _ANSWERS):
            return
        super().log_exception(typ, value, tb)


def accepts_html(accept: str) -> bool:
    """Whether an ``Accept`` header asks for a page: it names HTML (with ``q`` above 0) and
    prefers it at least as much as JSON. A browser opening an address sends
    ``text/html,...,*/*;q=0.8``; scripts send ``*/*``, JSON, or nothing."""
    html = json_q = 0.0
    for part in accept.split(","):
        media, _, params = part.partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = 0.0
        media = media.strip().lower()
        if media in HTML_TYPES:
            html = max(html, q)
        elif media == "application/json":
            json_q = max(json_q, q)
    return html > 0 and html >= json_q


class NotFoundHandler(BaseHandler):
    """No route matched. The API and every client that does not ask for HTML get the
    contract's JSON 404; a browser opening a missing page (outside ``/api/``, Accept:
    text/html) gets the styled error page, with the same status, under the pages' CSP."""

    def prepare(self) -> None:
        path = self.request.path
        api = path == "/api" or path.startswith("/api/")
        if not api:
            self.set_header("Vary", "Accept")
        if api or not accepts_html(self.request.headers.get("Accept", "")):
            raise APIError(404, "not_found", "no such route")
        self.set_status(404)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_document_headers(PAGE_CSP)
        self.render("error.html", status=404, reason="Not Found")
