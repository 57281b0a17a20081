"""Logging: Tornado's text lines or one JSON object per line, each request's records tagged with its id.

A request's id is the client's ``X-Request-Id`` when it is a short, plain token (so a
proxy's id follows the request through), else a fresh one; the answer echoes it. Records
logged while a request is handled carry it, the access line included, so that a
request's error can be found from its access line and the other way round.

Secrets stay out: nothing here logs headers or bodies, and Tornado's own warnings about
badly signed cookies, which quote the cookie, are logged without it.

The access log is lean by default: a handler marked ``quiet_access`` (the long poll) has
its successful answers logged at DEBUG, which the default level drops before building the
line. At a fan-out to thousands of polls one INFO line per answer cost more than the rest of
the delivery (issue 14's profile); every other request and every error is still logged.
``--access-log full`` logs every answer at INFO; in production nginx (deploy/) keeps the
full access log anyway.
"""

from __future__ import annotations

import contextvars
import datetime
import itertools
import json
import logging
import re
import secrets
from typing import Any

import tornado.httputil
import tornado.log
import tornado.web

FORMATS = ("text", "json")
REQUEST_ID_HEADER = "X-Request-Id"
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
# Tornado's warnings on a bad signed cookie, each quoting the cookie as its one argument.
_COOKIE_WARNINGS = frozenset({
    "Invalid cookie signature %r",
    "Expired cookie %r",
    "Cookie timestamp in future; possible tampering %r",
    "Tampered cookie %r",
})
_ACCESS_FIELDS = ("status", "method", "path", "remote_ip", "duration_ms", "handler")

# A fresh id is this process's random prefix and a counter: unique without a syscall per request.
_ID_PREFIX = secrets.token_hex(6)
_ids = itertools.count(1)

_as_json = False  # the access line's fields are built only for the JSON formatter, which alone reads them
_full_access = False  # --access-log full: quiet handlers' answers at INFO too

current_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


def request_id(offered: str | None) -> str:
    """The client's id when it is safe to log and echo, else a new one."""
    if offered is not None and _SAFE_REQUEST_ID.fullmatch(offered):
        return offered
    return f"{_ID_PREFIX}-{next(_ids):x}"


def start_request(request: tornado.httputil.HTTPServerRequest) -> str:
    """Give ``request`` its id; what is logged from here on while it is handled carries it."""
    found = request_id(request.headers.get(REQUEST_ID_HEADER))
    request.request_id = found  # type: ignore[attr-defined]
    current_request_id.set(found)
    return found


class RequestIdHeader(tornado.web.OutputTransform):
    """Every answer, errors and static files included, says which request it answers."""

    def __init__(self, request: tornado.httputil.HTTPServerRequest) -> None:
        self._request_id = getattr(request, "request_id", None)

    def transform_first_chunk(
        self, status_code: int, headers: tornado.httputil.HTTPHeaders, chunk: bytes, finishing: bool
    ) -> tuple[int, tornado.httputil.HTTPHeaders, bytes]:
        if self._request_id is not None:
            headers[REQUEST_ID_HEADER] = self._request_id
        return status_code, headers, chunk


def access(handler: tornado.web.RequestHandler) -> None:
    """Tornado's access line (same text, same levels), with its parts as fields for JSON; a
    ``quiet_access`` handler's successful answers at DEBUG unless the access log is full."""
    request, status = handler.request, handler.get_status()
    if status < 400:
        level = logging.DEBUG if getattr(handler, "quiet_access", False) and not _full_access else logging.INFO
    else:
        level = logging.WARNING if status < 500 else logging.ERROR
    if not tornado.log.access_log.isEnabledFor(level):
        return
    duration_ms = 1000.0 * request.request_time()
    tornado.log.access_log.log(
        level,
        "%d %s %s (%s) %.2fms",
        status, request.method, request.uri, request.remote_ip, duration_ms,
        extra=None if not _as_json else {
            "request_id": getattr(request, "request_id", None),
            "status": status,
            "method": request.method,
            "path": request.uri,
            "remote_ip": request.remote_ip,
            "duration_ms": round(duration_ms, 3),
            "handler": type(handler).__name__,
        },
    )


class RequestContext(logging.Filter):
    """Tags a record with the id of the request being handled, and drops quoted cookies."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = current_request_id.get()
        if record.msg in _COOKIE_WARNINGS:
            record.args = ("(cookie not logged)",)
        return True


class JSONFormatter(logging.Formatter):
    """One JSON object per record, on one line: a traceback is a field, never more lines."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        if getattr(record, "request_id", None):
            entry["request_id"] = record.request_id
        for name in _ACCESS_FIELDS:
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def setup(log_format: str = "text", access_log: str = "lean") -> None:
    """Log to stderr: Tornado's coloured text lines, or JSON lines (warnings too) for a log collector;
    ``access_log``: lean (answered long polls at DEBUG) or full."""
    global _as_json, _full_access
    root = logging.getLogger()
    _as_json = log_format == "json"
    _full_access = access_log == "full"
    if _as_json:
        handler = logging.StreamHandler()
        handler.setFormatter(JSONFormatter())
        root.handlers = [handler]
        root.setLevel(logging.INFO)
        logging.captureWarnings(True)
    else:
        tornado.log.enable_pretty_logging()
    for handler in root.handlers:
        handler.addFilter(RequestContext())
