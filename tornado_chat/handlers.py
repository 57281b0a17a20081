"""HTTP handlers of the JSON API: parse, call, answer.

Errors follow the contract: ``{"error": {"code", "message"}}`` with the fitting
status. Authentication is by the session cookie or ``Authorization: Bearer``;
with a Bearer header the cookie is never looked at, so a forged cross-site
request cannot borrow a victim's cookie by adding a bogus token.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import pymysql
import tornado.httputil
import tornado.web

from . import images, validation
from .events import Cursor, InvalidCursor, Poll
from .metrics import CONTENT_TYPE
from .models import User
from .service import BadCredentials, ChatService, RateLimited, TooManyAttempts
from .storage import DatabaseUnavailable, GroupExists, NoSuchGroup, NotMember, UsernameTaken

if TYPE_CHECKING:
    from .app import ChatApp

SESSION_COOKIE = "chat_session"
MAX_JSON_BODY = 64 * 1024
POLL_TIMEOUT_DEFAULT = 25.0
POLL_TIMEOUT_MAX = 60.0
HISTORY_LIMIT_DEFAULT = 50
HISTORY_LIMIT_MAX = 200
UNAVAILABLE_RETRY_AFTER = 2  # seconds: a database restart or a hang is over in a few
# The database's failures, wherever they surface: a 503 to try again, never a 500.
DATABASE_ERRORS = (DatabaseUnavailable, pymysql.err.OperationalError, pymysql.err.InterfaceError, TimeoutError)
MAX_UPLOAD_BODY = images.MAX_BYTES + 64 * 1024  # the image and its multipart wrapping
ERROR_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"


class APIError(tornado.web.HTTPError):
    """An answer of the contract: status, error code and a message for people."""

    def __init__(self, status: int, code: str, message: str, retry_after: int | None = None) -> None:
        super().__init__(status, reason=None, log_message=f"{code}: {message}")
        self.code = code
        self.message = message
        self.retry_after = retry_after


_GENERIC_CODES = {
    400: ("bad_request", "the request could not be understood"),
    403: ("forbidden", "requests from other sites are refused"),
    404: ("not_found", "no such thing"),
    405: ("method_not_allowed", "that method is not allowed here"),
    413: ("too_large", "the request is too large"),
}


class BaseHandler(tornado.web.RequestHandler):
    application: ChatApp
    current_user: User | None
    session_cached = False  # see auth.SessionCache: only the long poll may use it

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Content-Type-Options", "nosniff")

    def compute_etag(self) -> str | None:
        """None: JSON answers are ``no-store``, so hashing every body for an ETag is wasted."""
        return None

    @property
    def service(self) -> ChatService:
        return self.application.service

    async def prepare(self) -> None:
        self._token = self._presented_token()
        if self._token:
            self.current_user = await self.service.session_user(self._token, cached=self.session_cached)

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
        self.finish(payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False))

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
        or a cookie-using script echoes back); returns the token."""
        token = await self.service.open_session(user)
        self.set_signed_cookie(
            SESSION_COOKIE, token, httponly=True, samesite="Lax", expires_days=30,
        )
        self.xsrf_token  # noqa: B018 - reading it sets the _xsrf cookie
        return token

    async def sign_in(self, user: User, status: int) -> None:
        token = await self.start_session(user)
        self.answer({"user": user.to_json(), "token": token}, status)

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
        elif isinstance(exc, RateLimited):
            status_code, code, message = 429, "rate_limited", f"too many requests ({exc.what}); wait and try again"
            self.set_header("Retry-After", str(exc.retry_after))
        elif isinstance(exc, DATABASE_ERRORS):
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
        self.set_header("Content-Security-Policy", ERROR_CSP)
        self.set_header("Referrer-Policy", "same-origin")
        self.finish(json.dumps({"error": {"code": code, "message": message}}))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        """Rule breaks and missing rows are answers, not server errors, and an unavailable
        database is logged once by storage and in the access log's 503s: no traceback."""
        if isinstance(value, validation.Invalid | NoSuchGroup | NotMember | RateLimited | DatabaseUnavailable):
            return
        super().log_exception(typ, value, tb)


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


class NotFoundHandler(BaseHandler):
    def prepare(self) -> None:
        raise APIError(404, "not_found", "no such route")


class UsersHandler(BaseHandler):
    async def post(self) -> None:
        body = self.json_body()
        username = validation.username(body.get("username"))
        password = validation.password(body.get("password"))
        try:
            user = await self.service.register(username, password, self.request.remote_ip)
        except UsernameTaken as exc:
            raise APIError(409, "username_taken", "that username is taken") from exc
        await self.sign_in(user, HTTPStatus.CREATED)


class SessionHandler(BaseHandler):
    async def post(self) -> None:
        body = self.json_body()
        username = validation.sign_in_field(body.get("username"), "invalid_username", "username")
        password = validation.sign_in_field(body.get("password"), "invalid_password", "password")
        try:
            user = await self.service.authenticate(username, password, self.request.remote_ip)
        except TooManyAttempts as exc:
            raise APIError(
                429, "too_many_attempts", "too many failed sign-ins; wait and try again", exc.retry_after
            ) from exc
        except BadCredentials as exc:
            raise APIError(401, "invalid_credentials", "wrong username or password") from exc
        await self.sign_in(user, HTTPStatus.OK)

    async def delete(self) -> None:
        self.require_user()
        await self.service.revoke_session(self._token)
        self.clear_cookie(SESSION_COOKIE)
        self.no_content()


class MeHandler(BaseHandler):
    async def get(self) -> None:
        user = self.require_user()
        groups = [g for g in await self.service.groups(user) if g.joined]
        self.answer({"user": user.to_json(), "groups": [g.to_json() for g in groups]})


class GroupsHandler(BaseHandler):
    async def get(self) -> None:
        user = self.require_user()
        self.answer({"groups": [g.to_json() for g in await self.service.groups(user)]})

    async def post(self) -> None:
        user = self.require_user()
        name, key = validation.group_name(self.json_body().get("name"))
        try:
            group = await self.service.create_group(user, name, key)
        except GroupExists as exc:
            raise APIError(409, "group_exists", "a group with that name exists") from exc
        self.answer({"group": group.to_json()}, HTTPStatus.CREATED)


class MembershipHandler(BaseHandler):
    async def put(self, raw_id: str) -> None:
        user = self.require_user()
        group = await self.service.join(user, self.group_id(raw_id))
        self.answer({"group": group.to_json()})

    async def delete(self, raw_id: str) -> None:
        user = self.require_user()
        await self.service.leave(user, self.group_id(raw_id))
        self.no_content()


class MessagesHandler(BaseHandler):
    async def get(self, raw_id: str) -> None:
        user = self.require_user()
        group_id = self.group_id(raw_id)
        before = validation.int_argument(
            self.get_query_argument("before", None), "invalid_before", validation.MAX_ID, 1, validation.MAX_ID
        )
        limit = validation.int_argument(
            self.get_query_argument("limit", None), "invalid_limit", HISTORY_LIMIT_DEFAULT, 1, HISTORY_LIMIT_MAX
        )
        membership = await self.service.storage.membership(group_id, user.id)
        messages = await self.service.storage.messages_before(group_id, before, membership.start_seq, limit)
        self.answer({"messages": [m.to_json() for m in messages]})

    async def post(self, raw_id: str) -> None:
        user = self.require_user()
        group_id = self.group_id(raw_id)
        body = self.json_body()
        text = validation.message_text(body.get("text"))
        client_id = validation.client_id(body.get("client_id"))
        message, created = await self.service.send_text(user, group_id, text, client_id)
        self.answer({"message": message.to_json()}, HTTPStatus.CREATED if created else HTTPStatus.OK)


@tornado.web.stream_request_body
class ImagesHandler(BaseHandler):
    """Image uploads, streamed: a body past the limit is refused with 413 as soon as
    its declared or received size says so, never buffered whole."""

    _body: bytearray | None = None

    def check_xsrf_cookie(self) -> None:
        """Deferred to ``post``: the token may come as a form field, inside the body."""

    async def prepare(self) -> None:
        await super().prepare()
        user = self.require_user()
        self.service.charge("upload", user.id)  # before the body, which may be 10 MiB
        declared = self.request.headers.get("Content-Length", "")
        declared_size = int(declared) if declared.isdigit() else 0
        # Tornado's own limit must not answer first (with a bare 400): ours is the 413.
        self.request.connection.set_max_body_size(max(declared_size, MAX_UPLOAD_BODY) + 1024 * 1024)
        if declared_size > MAX_UPLOAD_BODY:
            raise APIError(413, "image_too_large", "an image may have at most 10 MiB")
        self._body = bytearray()

    def data_received(self, chunk: bytes) -> None:
        if self._body is None:
            return
        self._body += chunk
        if len(self._body) > MAX_UPLOAD_BODY:
            self._body = None  # Tornado diverts the rest and closes the connection after this answer
            self.error_answer(413, "image_too_large", "an image may have at most 10 MiB")

    async def post(self, raw_id: str) -> None:
        user = self.require_user()
        group_id = self.group_id(raw_id)
        fields: dict[str, list[bytes]] = {}
        files: dict[str, list[tornado.httputil.HTTPFile]] = {}
        try:
            tornado.httputil.parse_body_arguments(
                self.request.headers.get("Content-Type", ""), bytes(self._body or b""), fields, files
            )
        except tornado.httputil.HTTPInputError as exc:
            raise APIError(400, "invalid_multipart", "send a multipart/form-data body") from exc
        for name, values in fields.items():
            self.request.body_arguments.setdefault(name, []).extend(values)
            self.request.arguments.setdefault(name, []).extend(values)
        super().check_xsrf_cookie()
        if not files.get("image"):
            raise APIError(400, "invalid_image_field", "send the image as the multipart file field 'image'")
        raw_client_id = fields.get("client_id", [None])[0]
        try:
            client_id = validation.client_id(raw_client_id.decode("utf-8") if raw_client_id is not None else None)
        except UnicodeDecodeError as exc:
            raise APIError(400, "invalid_client_id", "client_id must be UTF-8 text") from exc
        try:
            message, created = await self.service.send_image(user, group_id, files["image"][0].body, client_id)
        except images.ImageRejected as exc:
            raise APIError(exc.status, exc.code, str(exc)) from exc
        self.answer({"message": message.to_json()}, HTTPStatus.CREATED if created else HTTPStatus.OK)


class ImageHandler(BaseHandler):
    """An image's bytes, only to those who may see its message; anyone else, signed
    in or not, gets the same 404, so a key tells a stranger nothing."""

    async def get(self, key: str, thumb: str | None) -> None:
        found = None
        if self.current_user is not None:
            found = await self.service.storage.image(key, self.current_user.id, thumb=bool(thumb))
        if found is None:
            raise APIError(404, "image_not_found", "no such image")
        content_type, data = found
        self.set_header("Content-Type", content_type)
        self.set_header("Cache-Control", "private, max-age=31536000, immutable")
        self.set_header("Content-Security-Policy", "default-src 'none'; img-src 'self'; sandbox")
        self.set_etag_header()
        if self.check_etag_header():
            self.set_status(304)
            return
        self.finish(data)

    def compute_etag(self) -> str | None:
        key, thumb = self.path_args
        return f'"{key}{"-thumb" if thumb else ""}"'


class OnlineHandler(BaseHandler):
    async def get(self, raw_id: str) -> None:
        user = self.require_user()
        group_id = self.group_id(raw_id)
        await self.service.storage.membership(group_id, user.id)
        online = await self.service.storage.online_members([group_id], self.service.presence.online_since())
        self.answer({"users": [u.to_json() for u in online[group_id]]})


class TypingHandler(BaseHandler):
    async def post(self, raw_id: str) -> None:
        user = self.require_user()
        await self.service.typing(user, self.group_id(raw_id))
        self.no_content()


class EventsHandler(BaseHandler):
    """The long poll: one request covers every group of the user."""

    session_cached = True

    _poll: Poll | None = None

    async def get(self) -> None:
        user = self.require_user()
        timeout = validation.timeout_argument(
            self.get_query_argument("timeout", None), POLL_TIMEOUT_DEFAULT, POLL_TIMEOUT_MAX
        )
        raw_cursor = self.get_query_argument("cursor", None)
        start = None
        if raw_cursor is not None:
            try:
                start = Cursor.decode(raw_cursor)
            except InvalidCursor as exc:  # refused before the user counts as online
                raise APIError(400, "invalid_cursor", "the cursor is malformed") from exc
        presence = self.service.presence
        presence.poll_started(user)
        try:
            if start is None:
                cursor, events = await self.service.stream.start(user)
            else:
                self._poll = self.service.stream.poll(user, start)
                answer = await self._poll.run(timeout)
                if answer is None:
                    return
                cursor, events = answer[0].encode(), answer[1]
        finally:
            presence.poll_ended(user)
        self.answer('{"cursor":' + json.dumps(cursor) + ',"events":[' + ",".join(events) + "]}")

    def on_connection_close(self) -> None:
        if self._poll is not None:
            self._poll.cancel()


class HealthHandler(BaseHandler):
    async def get(self) -> None:
        if await self.service.database_answers():
            self.answer({"status": "ok"})
        else:
            self.answer({"status": "unavailable"}, HTTPStatus.SERVICE_UNAVAILABLE)


class MetricsHandler(BaseHandler):
    def get(self) -> None:
        self.set_header("Content-Type", CONTENT_TYPE)
        self.finish(self.service.metrics.render())


def routes() -> list[tuple[str, type[tornado.web.RequestHandler]]]:
    group = r"/api/groups/([^/]+)"
    return [
        (r"/api/users", UsersHandler),
        (r"/api/session", SessionHandler),
        (r"/api/me", MeHandler),
        (r"/api/groups", GroupsHandler),
        (group + r"/membership", MembershipHandler),
        (group + r"/messages", MessagesHandler),
        (group + r"/online", OnlineHandler),
        (group + r"/images", ImagesHandler),
        (r"/images/([A-Za-z0-9_-]{32})(/thumb)?", ImageHandler),
        (group + r"/typing", TypingHandler),
        (r"/api/events", EventsHandler),
        (r"/healthz", HealthHandler),
        (r"/metrics", MetricsHandler),
    ]
