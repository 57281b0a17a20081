"""Configuration: command-line flags, their environment fallbacks, and the database URL."""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import secrets
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)

from .ratelimit import Limit

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_VAR_DIR = PROJECT_ROOT / "var"
# Generous for people and bots alike; bench/ turns them off. Sign-ups: a class of 30 to 40
# behind one school address signs up at once (a burst of 40), and the bucket, refilled one a
# minute, is full again 40 minutes later, within a lesson's length, for the next class; a
# script gets 100 in its first hour and 60 an hour after that, where it used to get 70 and 60.
DEFAULT_LIMITS = {
    "register": "60/h:40", "send": "20/s:60", "upload": "1/s:10", "typing": "2/s:10", "search": "2/s:20",
    "export": "6/h:3",
}
# A connection quiet this long between requests is closed: above a proxy's keep-alive (nginx: 75 s),
# so the proxy, not the app, ends its idle connections.
IDLE_CONNECTION_TIMEOUT = 120.0
SECONDS_PER_DAY = 86400.0
# Web Push: the push services of the major browsers (a prefix each; ``*.`` allows every subdomain).
DEFAULT_PUSH_ENDPOINTS = (
    "https://fcm.googleapis.com/",
    "https://updates.push.services.mozilla.com/",
    "https://web.push.apple.com/",
    "https://*.notify.windows.com/",
)
DEFAULT_VAPID_SUBJECT = "mailto:tornado_chat@localhost"
VAPID_KEY_FILE = "vapid_private_key.pem"
# A duration longer than this is a typo (and past ~2,000 years, subtracting it from now overflows).
MAX_DURATION = 3650 * SECONDS_PER_DAY


class ConfigError(ValueError):
    """A setting a person must fix; the message says how."""


@dataclass(frozen=True)
class DatabaseURL:
    """Where MySQL is: ``mysql://user:pass@host:port/db`` (``?unix_socket=/path`` allowed).

    A replicated database (a Galera cluster) is several addresses, comma-separated as in
    libpq's and Connector/J's URLs: ``mysql://chat:pw@10.0.0.1:3306,10.0.0.2,10.0.0.3/chat``.
    The first is ``host``/``port``; the others, in the order to try them, ``more_addresses``."""

    database: str
    user: str = "root"
    password: str = ""
    host: str = "127.0.0.1"
    port: int = 3306
    unix_socket: str | None = None
    more_addresses: tuple[tuple[str, int], ...] = ()

    @classmethod
    def parse(cls, url: str) -> DatabaseURL:
        parts = urlsplit(url)
        if parts.scheme not in ("mysql", "mariadb"):
            raise ConfigError(f"database URL must start with mysql://, got {url!r}")
        database = unquote(parts.path.lstrip("/"))
        if not database or "/" in database or "`" in database:
            raise ConfigError(f"database URL must name one database, e.g. mysql://root@127.0.0.1/chat: {url!r}")
        userinfo, _, hosts = parts.netloc.rpartition("@")
        user, _, password = userinfo.partition(":")
        texts = hosts.split(",")
        if len(texts) > 1 and not all(texts):
            raise ConfigError(f"database URL has an empty address in its list: {url!r}")
        addresses = [_address(text, url) for text in texts]
        query = parse_qs(parts.query)
        return cls(
            database=database,
            user=unquote(user or "root"),
            password=unquote(password),
            host=addresses[0][0],
            port=addresses[0][1],
            unix_socket=query.get("unix_socket", [None])[0],
            more_addresses=tuple(addresses[1:]),
        )

    def url(self) -> str:
        """The URL that ``parse`` reads back as this one."""
        auth = quote(self.user, safe="") + (":" + quote(self.password, safe="") if self.password else "")
        where = "localhost" if self.unix_socket else ",".join(
            f"[{host}]:{port}" if ":" in host else f"{host}:{port}"  # an IPv6 address
            for host, port in self.addresses
        )
        query = "?unix_socket=" + quote(self.unix_socket) if self.unix_socket else ""
        return f"mysql://{auth}@{where}/{quote(self.database, safe='')}{query}"

    @property
    def addresses(self) -> tuple[tuple[str, int], ...]:
        """Every address, in the order to try them."""
        return ((self.host, self.port), *self.more_addresses)

    def nodes(self) -> list[DatabaseURL]:
        """One URL per address (a single one for a unix socket), in the order to try them."""
        if self.unix_socket:
            return [self]
        return [replace(self, host=host, port=port, more_addresses=()) for host, port in self.addresses]

    def connect_kwargs(self, with_database: bool = True) -> dict[str, object]:
        """Keyword arguments for aiomysql/PyMySQL ``connect``, to the first address."""
        kwargs: dict[str, object] = {"user": self.user, "password": self.password, "charset": "utf8mb4"}
        if self.unix_socket:
            kwargs["unix_socket"] = self.unix_socket
        else:
            kwargs["host"] = self.host
            kwargs["port"] = self.port
        if with_database:
            kwargs["db"] = self.database
        return kwargs


def _address(text: str, url: str) -> tuple[str, int]:
    """One ``host[:port]`` of a database URL (``[v6]:port`` for IPv6), port 3306 if none."""
    try:
        parts = urlsplit("//" + text)
        port = parts.port or 3306
    except ValueError as exc:
        raise ConfigError(f"database URL has a bad port or address: {url!r}") from exc
    return parts.hostname or "127.0.0.1", port


@dataclass(frozen=True)
class SentinelURL:
    """Redis behind Sentinel: ``redis+sentinel://[:password@]host:port,host:port/service/db``,
    the sentinels' addresses (26379 when none), the name of the primary they watch, and the
    database number (0 when none). The password, if any, is the Redis servers' own."""

    sentinels: tuple[tuple[str, int], ...]
    service: str
    db: int = 0
    password: str | None = None

    SCHEME = "redis+sentinel"

    @classmethod
    def parse(cls, url: str) -> SentinelURL:
        parts = urlsplit(url)
        userinfo, _, hosts = parts.netloc.rpartition("@")
        path = [unquote(piece) for piece in parts.path.strip("/").split("/")]
        if parts.scheme != cls.SCHEME or not hosts or not path[0] or len(path) > 2:
            raise ConfigError(f"a Sentinel URL is redis+sentinel://host:port,host:port/service[/db]: {url!r}")
        try:
            sentinels = []
            for text in hosts.split(","):
                address = urlsplit("//" + text)
                if not address.hostname:
                    raise ValueError(text)
                sentinels.append((address.hostname, address.port or 26379))
            db = int(path[1]) if len(path) == 2 else 0
        except ValueError as exc:
            raise ConfigError(f"a Sentinel URL has a bad address, port or database number: {url!r}") from exc
        password = unquote(userinfo.partition(":")[2]) or None
        return cls(tuple(sentinels), path[0], db, password)


@dataclass(frozen=True)
class DatabaseTimeouts:
    """Bounds on every database call, in seconds, so a dead or hung server costs a request
    a quick 503 instead of a hang: opening a connection's socket, waiting for a pooled
    connection (which includes a new connection's handshake), and one call's statements
    (the client's deadline for a whole transaction, and the server's own limit per statement)."""

    connect: float = 2.0
    acquire: float = 3.0
    statement: float = 5.0


@dataclass(frozen=True)
class Settings:
    """Everything the application factory needs; tests build one directly."""

    database: DatabaseURL
    cookie_secret: str
    address: str = "127.0.0.1"
    port: int = 8888
    bcrypt_rounds: int = 12
    debug: bool = False
    # Presence: online while an events request is open or was made this recently.
    presence_timeout: float = 45.0
    presence_refresh_interval: float = 15.0
    presence_sweep_interval: float = 5.0
    presence_change_interval: float = 2.0
    # Failed logins: this many per username (or per address) in the window,
    # then every further attempt waits twice as long as the one before. Per address it is
    # a class's worth: 30 to 40 people behind one school address mistyping once or twice
    # each make up to 80 failures, which must not pause the whole address; guessing one
    # account's password is held back by the per-username count, as before.
    login_failures_per_user: int = 5
    login_failures_per_address: int = 100
    login_failure_window: float = 900.0
    login_max_delay: float = 300.0
    # ...but from an address with no failure in the window, an account waits at most this.
    login_clean_address_delay: float = 30.0
    db_pool_size: int = 20
    db_timeouts: DatabaseTimeouts = DatabaseTimeouts()
    # With several database addresses: how often a pool that failed over looks for an earlier
    # node that is synced again, to go back to it (0: never).
    db_failback_interval: float = 5.0
    redis_url: str | None = None
    # Sessions unused for this long are refused; their last use is written at most
    # once per touch interval, not on every request.
    session_idle_timeout: float = 30 * SECONDS_PER_DAY
    session_touch_interval: float = 600.0
    # Token buckets (ratelimit.py), None for no limit: registrations per address,
    # sends, uploads, typing notices, searches and exports per user.
    register_limit: Limit | None = Limit.parse(DEFAULT_LIMITS["register"])
    send_limit: Limit | None = Limit.parse(DEFAULT_LIMITS["send"])
    upload_limit: Limit | None = Limit.parse(DEFAULT_LIMITS["upload"])
    typing_limit: Limit | None = Limit.parse(DEFAULT_LIMITS["typing"])
    search_limit: Limit | None = Limit.parse(DEFAULT_LIMITS["search"])
    export_limit: Limit | None = Limit.parse(DEFAULT_LIMITS["export"])
    # Web Push (services/push.py): endpoint prefixes a subscription may use; the VAPID key
    # (PEM; None: a new one for this application only, as tests want) and the JWT's subject;
    # messages waiting for the worker, pushes in flight at once, one push's time limit, and the
    # first back-off after a push service's 429 or 5xx with no Retry-After (then 4 times more).
    push_endpoint_allow: tuple[str, ...] = DEFAULT_PUSH_ENDPOINTS
    vapid_private_key: str | None = None
    vapid_subject: str = DEFAULT_VAPID_SUBJECT
    push_queue_size: int = 10_000
    push_concurrency: int = 64
    push_timeout: float = 10.0
    push_retry_delay: float = 1.0


def load_or_create_cookie_secret(var_dir: Path) -> str:
    """A secret generated once and kept, so sessions and XSRF tokens survive restarts."""
    path = var_dir / "cookie_secret"
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secret + "\n")
    return secret


def load_or_create_vapid_key(var_dir: Path) -> str:
    """The VAPID private key (PEM), generated once and kept beside the cookie secret, so the
    browsers' subscriptions, made for its public key, survive restarts."""
    path = var_dir / VAPID_KEY_FILE
    if path.exists():
        return path.read_text()
    var_dir.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode("ascii")
    # Written whole under another name, then linked into place: instances starting together on
    # one var/ (deploy/) all end with the key of the first to link, never half a file.
    fd, written = tempfile.mkstemp(dir=var_dir, prefix=".vapid-")  # mode 0600
    try:
        with os.fdopen(fd, "w") as f:
            f.write(pem)
        with contextlib.suppress(FileExistsError):
            os.link(written, path)
    finally:
        os.unlink(written)
    return path.read_text()


def read_vapid_key(path: Path) -> str:
    """A configured VAPID private key: a PEM file of a P-256 key (ConfigError otherwise)."""
    try:
        pem = path.read_text()
        key = load_pem_private_key(pem.encode("ascii"), password=None)
    except (OSError, ValueError, TypeError, UnicodeError) as exc:
        raise ConfigError(f"--vapid-private-key {path}: not a readable PEM private key ({exc})") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ConfigError(f"--vapid-private-key {path}: a VAPID key is an EC key on P-256 (prime256v1)")
    return pem


def push_prefix(text: str) -> str:
    """An endpoint prefix of --push-endpoint-allow: an http(s) URL; a bare origin gets its ``/``."""
    parts = urlsplit(text)
    if parts.scheme not in ("https", "http") or not parts.netloc or parts.query or parts.fragment:
        raise argparse.ArgumentTypeError(
            f"a push endpoint prefix is an https:// URL, e.g. https://fcm.googleapis.com/; got {text!r}"
        )
    return text if parts.path else text + "/"


def duration(text: str) -> float:
    """Seconds from ``90``, ``90s``, ``15m``, ``12h`` or ``30d``."""
    units = {"s": 1, "m": 60, "h": 3600, "d": SECONDS_PER_DAY}
    number, unit = (text[:-1], units[text[-1]]) if text[-1:] in units else (text, 1)
    try:
        seconds = float(number) * unit
    except ValueError:
        raise argparse.ArgumentTypeError(f"a duration is a number with s, m, h or d, e.g. 30d; got {text!r}") from None
    if not seconds > 0:
        raise argparse.ArgumentTypeError(f"a duration must be positive, got {text!r}")
    if not seconds <= MAX_DURATION:
        raise argparse.ArgumentTypeError(f"a duration may be at most 3650d (ten years), got {text!r}")
    return seconds


def limit(text: str) -> Limit | None:
    try:
        return Limit.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def push_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The Settings fields of the Web Push flags: the VAPID key configured, or made once and kept."""
    return {
        "push_endpoint_allow": tuple(args.push_endpoint_allow or DEFAULT_PUSH_ENDPOINTS),
        "vapid_private_key": read_vapid_key(args.vapid_private_key) if args.vapid_private_key
        else load_or_create_vapid_key(args.var_dir),
        "vapid_subject": args.vapid_subject,
    }


def security_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The Settings fields of the session and rate-limit flags."""
    return {
        "session_idle_timeout": args.session_idle_timeout,
        "register_limit": args.register_limit,
        "send_limit": args.send_limit,
        "upload_limit": args.upload_limit,
        "typing_limit": args.typing_limit,
        "search_limit": args.search_limit,
        "export_limit": args.export_limit,
    }


def build_arg_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="run.py",
        description="Serve tornado_chat. Without a database URL, a private MariaDB server "
        "is started with its data under var/ and stopped when the app stops.",
    )
    parser.add_argument("--address", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8888, help="port to listen on (default: %(default)s)")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("CHAT_DATABASE_URL"),
        help="mysql://user:pass@host:port/db (env CHAT_DATABASE_URL); a missing database is "
        "created with the schema. Several comma-separated host:port (a Galera cluster's nodes, "
        "in one order for every process) are tried in turn. Default: a private server under var/",
    )
    parser.add_argument(
        "--cookie-secret",
        default=os.environ.get("CHAT_COOKIE_SECRET"),
        help="secret that signs cookies and XSRF tokens (env CHAT_COOKIE_SECRET); "
        "default: one generated once and kept in var/cookie_secret",
    )
    parser.add_argument(
        "--bcrypt-rounds",
        type=int,
        default=12,
        help="bcrypt cost factor, 4-16 (default: %(default)s; lower it for load tests)",
    )
    parser.add_argument("--var-dir", type=Path, default=DEFAULT_VAR_DIR, help="where local state lives (default: var/)")
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("CHAT_REDIS_URL"),
        help="redis://host:port/db (env CHAT_REDIS_URL): processes share changes through it; "
        "needed for more than one process. redis+sentinel://host:port,host:port/service/db: the "
        "primary that these Redis Sentinels watch, found again after a failover",
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="worker processes forked on one shared socket (default: %(default)s; more than 1 needs --redis-url)",
    )
    parser.add_argument(
        "--xheaders",
        action="store_true",
        help="trust X-Forwarded-For / X-Real-Ip / X-Scheme: only behind a proxy that sets them",
    )
    parser.add_argument(
        "--session-idle-timeout",
        type=duration,
        default=Settings.session_idle_timeout,
        help="sign a session out after it is unused this long, e.g. 12h or 30d (default: 30d)",
    )
    for name, what in (("register", "registrations per client address"), ("send", "messages sent per user"),
                       ("upload", "image uploads per user"), ("typing", "typing notices per user"),
                       ("search", "searches per user"), ("export", "data exports per user")):
        parser.add_argument(
            f"--{name}-limit",
            type=limit,
            default=DEFAULT_LIMITS[name],
            metavar="RATE/UNIT:BURST",
            help=f"{what}, a token bucket per process: e.g. 20/s:60, 60/h:10, or off "
            f"(default: {DEFAULT_LIMITS[name]})",
        )
    for name, default, what in (
        ("connect", DatabaseTimeouts.connect, "opening a database connection"),
        ("acquire", DatabaseTimeouts.acquire, "waiting for a pooled connection, a new one's handshake included"),
        ("statement", DatabaseTimeouts.statement, "one database call, client side and per statement on the server"),
    ):
        env = f"CHAT_DB_{name.upper()}_TIMEOUT"
        parser.add_argument(
            f"--db-{name}-timeout",
            type=float,
            default=os.environ.get(env, str(default)),
            help=f"seconds for {what} (env {env}; default: {default:g}); past it a request gets 503",
        )
    parser.add_argument(
        "--db-failback-interval",
        type=float,
        default=Settings.db_failback_interval,
        help="with several database addresses: seconds between looks for an earlier node synced again, "
        "to go back to it, so that every process writes to the same node (default: %(default)g; 0: never)",
    )
    parser.add_argument(
        "--idle-timeout",
        type=float,
        default=IDLE_CONNECTION_TIMEOUT,
        help="seconds a connection may sit between requests (a client that never reads its answer "
        "sits too) before it is closed; keep it above a proxy's keep-alive (default: %(default)s)",
    )
    parser.add_argument(
        "--log-format",
        choices=("text", "json"),
        default=os.environ.get("CHAT_LOG_FORMAT", "text"),
        help="text: Tornado's lines; json: one JSON object per line, with each request's id "
        "(env CHAT_LOG_FORMAT; default: %(default)s)",
    )
    parser.add_argument(
        "--access-log",
        choices=("lean", "full"),
        default=os.environ.get("CHAT_ACCESS_LOG", "lean"),
        help="lean: answered long polls (GET /api/events below 400) at DEBUG, so not logged at the default "
        "level, every other request and every error logged; full: every request at INFO. At a fan-out the "
        "access line is the largest cost of a delivery; nginx (deploy/) keeps a full access log "
        "(env CHAT_ACCESS_LOG; default: %(default)s)",
    )
    parser.add_argument(
        "--push-endpoint-allow",
        action="append",
        type=push_prefix,
        metavar="PREFIX",
        help="a Web Push endpoint prefix subscriptions may use (repeatable; the list replaces the default: "
        + ", ".join(DEFAULT_PUSH_ENDPOINTS) + ")",
    )
    parser.add_argument(
        "--vapid-private-key",
        type=Path,
        default=os.environ.get("CHAT_VAPID_PRIVATE_KEY_FILE"),
        metavar="FILE",
        help="PEM file of the VAPID key (EC P-256) that signs Web Push requests (env CHAT_VAPID_PRIVATE_KEY_FILE); "
        f"default: one generated once and kept in var/{VAPID_KEY_FILE}",
    )
    parser.add_argument(
        "--vapid-subject",
        default=os.environ.get("CHAT_VAPID_SUBJECT", DEFAULT_VAPID_SUBJECT),
        help="the VAPID contact, a mailto: or https: URL push services may write to (env CHAT_VAPID_SUBJECT; "
        "default: %(default)s)",
    )
    parser.add_argument("--debug", action="store_true", help="Tornado debug mode (autoreload, tracebacks in logs)")
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = build_arg_parser()
    args = parser.parse_args(argv)
    if not 4 <= args.bcrypt_rounds <= 16:
        parser.error("--bcrypt-rounds must be between 4 and 16")
    if not 0 <= args.port <= 65535:
        parser.error("--port must be between 0 and 65535")
    for name in ("connect", "acquire", "statement"):
        if not 0 < getattr(args, f"db_{name}_timeout") <= 3600:
            parser.error(f"--db-{name}-timeout must be a number of seconds above 0 and at most 3600")
    if not 0 <= args.db_failback_interval <= 3600:
        parser.error("--db-failback-interval must be a number of seconds from 0 (never) to 3600")
    if args.idle_timeout <= 0:
        parser.error("--idle-timeout must be above 0")
    if args.log_format not in ("text", "json"):
        parser.error("--log-format (or CHAT_LOG_FORMAT) must be text or json")
    if args.access_log not in ("lean", "full"):
        parser.error("--access-log (or CHAT_ACCESS_LOG) must be lean or full")
    if not re.match(r"(mailto:.+@.+|https://[^/]+)", args.vapid_subject):
        parser.error("--vapid-subject (or CHAT_VAPID_SUBJECT) must be a mailto: address or an https:// URL")
    if args.processes < 1:
        parser.error("--processes must be at least 1")
    if args.processes > 1 and not args.redis_url:
        parser.error("--processes above 1 needs --redis-url (or CHAT_REDIS_URL): processes share changes through Redis")
    if args.redis_url and args.redis_url.startswith(SentinelURL.SCHEME + ":"):
        try:
            SentinelURL.parse(args.redis_url)
        except ConfigError as exc:
            parser.error(f"--redis-url: {exc}")
    return args
