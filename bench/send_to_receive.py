#!/usr/bin/env python3
"""Send-to-receive latency: how long a chat message takes to reach another member.

Why: the long poll is the product. What a person notices is the time from a
friend pressing Enter to the message showing up on their own screen, i.e. from
the sender's POST to the answer of the receiver's already waiting long poll.
Neither the send's round-trip nor a server-side histogram captures that whole
path (HTTP parsing, auth, the INSERT's commit, the hub's wake-up, the poller's
re-read and its answer), so this measures it from the outside, against the real
server started as its own process, as a client would see it.

How: a private MariaDB (EmbeddedMariaDB in a temp dir) or, with --database-url,
a throwaway ``bench_<hex>`` database on the given server (the database named in
the URL is not touched); ``run.py`` on a free port with cheap bcrypt; users A
and B in a fresh group. For each of N messages, one at a time: B's long poll is
sent and given PARK_DELAY to park, t0 is taken just before A's POST, and t1 when
B's poll answer carrying that message (matched by client_id) has been read. The
latency is t1 - t0; the send's own round-trip (POST to 201) is reported beside
it. A few warm-up messages are not counted. At the end every message must have
reached B exactly once, in seq order, with the seq the sender was given.

With --reactions, a message that changes is timed beside a new one, in the same
run: after each message, A toggles a reaction on the first message (PUT, then
DELETE, ...; each a real change, checked by its version) and the time runs until
B's parked poll has the ``message_changed`` carrying that version. Reactions and
messages take turns, so both meet the same server, users and machine load; on a
shared machine only a comparison made that way holds. Every change must reach B
exactly once, in the order made, as A's answer showed it.

Each user talks over one keep-alive HTTP/1.1 connection, as a browser would:
Tornado's simple_httpclient sends ``Connection: close`` and opens a new TCP
connection per request, which would add connection setup to every send.

Run from the repository root: ``python bench/send_to_receive.py [--messages N] [--reactions]``
(``make bench ARGS=...``). Output: one JSON object on a line, then a table.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import platform
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import pymysql
import tornado

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))  # the package need not be installed to benchmark a checkout

from tornado_chat.config import ConfigError, DatabaseURL  # noqa: E402
from tornado_chat.dbserver import DBServerError, EmbeddedMariaDB  # noqa: E402

log = logging.getLogger("bench")

SCENARIO = "send_to_receive"
REACTIONS_SCENARIO = "send_to_receive_reactions"
REACTION = "👍"  # toggled on one message with --reactions
WARMUP_MESSAGES = 10
PARK_DELAY = 0.02  # after sending B's poll, before A sends: time for the poll to park on the server
POLL_TIMEOUT = 30  # seconds; the long poll's own timeout, far above any delivery we expect
DELIVERY_DEADLINE = 10.0  # a message not delivered by then counts as lost
STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
PASSWORD = "bench password"


class BenchError(Exception):
    """The run could not be made or its result is wrong; the message says which and why."""


class UnexpectedStatus(BenchError):
    """An answer with another status than the one expected (``status``)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class Connection:
    """One keep-alive HTTP/1.1 connection to the server, carrying one request at a time."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, port: int) -> None:
        self._reader = reader
        self._writer = writer
        self._port = port
        self.token: str | None = None

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(reader, writer, port)

    async def request(
        self, method: str, path: str, body: dict[str, Any] | None = None, expect: int = 200
    ) -> dict[str, Any]:
        """Send a request and read its JSON answer; any status but ``expect`` is an error."""
        lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self._port}"]
        payload = b""
        if body is not None:
            payload = json.dumps(body).encode()
            lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
        if self.token is not None:
            lines.append(f"Authorization: Bearer {self.token}")
        self._writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + payload)
        try:
            await self._writer.drain()
            head = (await self._reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            status_line, *header_lines = head.rstrip("\r\n").split("\r\n")
            fields = (line.partition(":") for line in header_lines)
            headers = {name.strip().lower(): value.strip() for name, _, value in fields}
            if "transfer-encoding" in headers:
                raise BenchError(f"{method} {path}: a {headers['transfer-encoding']} answer is not supported")
            data = await self._reader.readexactly(int(headers.get("content-length", "0")))
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            raise BenchError(f"{method} {path}: connection lost: {exc!r}") from exc
        status = int(status_line.split()[1])
        if status != expect:
            raise UnexpectedStatus(
                f"{method} {path}: expected {expect}, got {status}: {data[:300].decode(errors='replace')}", status
            )
        return json.loads(data) if data else {}

    def close(self) -> None:
        self._writer.close()


class Receiver:
    """User B: keeps a long poll parked and collects, in arrival order, the group's messages and
    changes to them (``message_changed``) that it gets."""

    def __init__(self, conn: Connection, group_id: int, cursor: str) -> None:
        self._conn = conn
        self._group_id = group_id
        self._cursor = cursor
        self._poll: asyncio.Task[tuple[float, dict[str, Any]]] | None = None
        self.received: list[dict[str, Any]] = []
        self.changed: list[dict[str, Any]] = []  # the message after each change, in arrival order

    async def _events(self, timeout: int) -> tuple[float, dict[str, Any]]:
        """One events request; the time is taken here, the moment its answer has been read."""
        answer = await self._conn.request("GET", f"/api/events?cursor={quote(self._cursor)}&timeout={timeout}")
        return time.perf_counter(), answer

    def _take(self, answer: dict[str, Any]) -> list[dict[str, Any]]:
        """Keep the group's new messages and changes; the events of both kinds, in order."""
        self._cursor = answer["cursor"]
        events = [
            e
            for e in answer["events"]
            if e["type"] in ("message", "message_changed") and e["message"]["group_id"] == self._group_id
        ]
        for event in events:
            (self.received if event["type"] == "message" else self.changed).append(event["message"])
        return events

    async def _answer(self) -> tuple[float, list[dict[str, Any]]]:
        """Wait for the poll in flight (sending one if none is) and take its answer."""
        if self._poll is None:
            self._poll = asyncio.create_task(self._events(POLL_TIMEOUT))
        try:
            answered_at, answer = await self._poll
        finally:
            self._poll = None
        return answered_at, self._take(answer)

    async def park(self) -> None:
        """Have a poll in flight that has had PARK_DELAY to park; one answered early is taken and replaced."""
        while True:
            if self._poll is None:
                self._poll = asyncio.create_task(self._events(POLL_TIMEOUT))
            await asyncio.sleep(PARK_DELAY)
            if not self._poll.done():
                return
            await self._answer()

    async def _wait(self, wanted: Callable[[dict[str, Any]], bool], what: str) -> float:
        """perf_counter() when the answer carrying an event that is ``wanted`` was read."""
        try:
            async with asyncio.timeout(DELIVERY_DEADLINE):
                while True:
                    answered_at, events = await self._answer()
                    if any(wanted(e) for e in events):
                        return answered_at
        except TimeoutError:
            raise BenchError(f"{what} did not reach the receiver within {DELIVERY_DEADLINE:g} s") from None

    async def wait_for(self, client_id: str) -> float:
        """perf_counter() when the answer carrying the message with ``client_id`` was read."""
        return await self._wait(
            lambda e: e["type"] == "message" and e["message"]["client_id"] == client_id, f"message {client_id}"
        )

    async def wait_for_change(self, message_id: int, version: int) -> float:
        """perf_counter() when the answer carrying ``version`` of message ``message_id`` was read."""
        return await self._wait(
            lambda e: e["type"] == "message_changed"
            and e["message"]["id"] == message_id
            and e["message"]["version"] == version,
            f"version {version} of message {message_id}",
        )

    async def drain(self) -> None:
        """A last poll that does not wait, so that a late duplicate would be seen."""
        _, answer = await self._events(0)
        self._take(answer)

    def close(self) -> None:
        if self._poll is not None:
            self._poll.cancel()


def check_delivery(sent: list[dict[str, Any]], received: list[dict[str, Any]]) -> None:
    """Every sent message reached B exactly once, in seq order, as stored; seq has no gaps."""
    seqs = [m["seq"] for m in sent]
    if seqs != list(range(1, len(sent) + 1)):
        raise BenchError(f"the sender was given seqs {seqs[:20]}..., not 1, 2, 3, ... in a fresh group")
    want = [(m["seq"], m["client_id"], m["text"]) for m in sent]
    got = [(m["seq"], m["client_id"], m["text"]) for m in received]
    if got == want:
        return
    counts = Counter(m["client_id"] for m in received)
    duplicated = sorted(cid for cid, n in counts.items() if n > 1)
    missing = [m["client_id"] for m in sent if m["client_id"] not in counts]
    first = next((i for i, (g, w) in enumerate(zip(got, want, strict=False)) if g != w), min(len(got), len(want)))
    raise BenchError(
        f"delivery is wrong: {len(received)} received for {len(sent)} sent; duplicated {duplicated[:10]}, "
        f"missing {missing[:10]}; first difference at position {first}: "
        f"got {got[first] if first < len(got) else None}, expected {want[first] if first < len(want) else None}"
    )


def check_changes(made: list[dict[str, Any]], received: list[dict[str, Any]]) -> None:
    """Every change made reached B exactly once, in the order made, as the changer was answered."""
    if received == made:
        return
    counts = Counter((m["id"], m["version"]) for m in received)
    duplicated = sorted(key for key, n in counts.items() if n > 1)
    missing = [(m["id"], m["version"]) for m in made if (m["id"], m["version"]) not in counts]
    pairs = enumerate(zip(received, made, strict=False))
    first = next((i for i, (g, w) in pairs if g != w), min(len(received), len(made)))
    got = received[first] if first < len(received) else None
    want = made[first] if first < len(made) else None
    raise BenchError(
        f"changes were delivered wrong: {len(received)} received for {len(made)} made; (message id, version) "
        f"duplicated {duplicated[:10]}, missing {missing[:10]}; first difference at position {first}: "
        f"got {got}, expected {want}"
    )


async def toggle(conn: Connection, before: dict[str, Any], emoji: str, toggles: int) -> dict[str, Any]:
    """The message after toggling the caller's ``emoji`` on it, the ``toggles``-th time (PUT when even,
    DELETE when odd); a toggle that changed nothing would wake nobody, so it is an error."""
    method = "DELETE" if toggles % 2 else "PUT"
    path = f"/api/groups/{before['group_id']}/messages/{before['seq']}/reactions/{quote(emoji)}"
    after: dict[str, Any] = (await conn.request(method, path))["message"]
    if after["version"] != before["version"] + 1:
        raise BenchError(f"{method} {path} changed nothing: version {after['version']}, {before['version']} before")
    return after


async def register(port: int, username: str) -> Connection:
    conn = await Connection.open(port)
    answer = await conn.request("POST", "/api/users", {"username": username, "password": PASSWORD}, expect=201)
    conn.token = answer["token"]
    return conn


async def wait_healthy(server: subprocess.Popen[bytes], port: int) -> None:
    """Poll /healthz until it answers 200; fail early if the server exits."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        if server.poll() is not None:
            raise BenchError(f"run.py exited with code {server.returncode} while starting")
        try:
            conn = await Connection.open(port)
            try:
                await conn.request("GET", "/healthz")
                return
            finally:
                conn.close()
        except (OSError, BenchError) as exc:
            if time.monotonic() > deadline:
                raise BenchError(f"the server did not become healthy in {STARTUP_TIMEOUT:g} s: {exc}") from exc
        await asyncio.sleep(0.1)


@dataclass
class Timings:
    """One kind of action's samples after the warm-up, in seconds."""

    latencies: list[float] = field(default_factory=list)  # the action's start -> B's poll answer carrying it read
    round_trips: list[float] = field(default_factory=list)  # the action's start -> its own answer read

    def add(self, started: float, answered: float, received: float) -> None:
        self.latencies.append(received - started)
        self.round_trips.append(answered - started)


async def measure(port: int, count: int, reactions: bool) -> tuple[Timings, Timings | None]:
    """``count`` messages after the warm-up; with ``reactions``, after each message a reaction toggled
    on the first one (PUT, then DELETE, then PUT, ...: each a real change), timed the same way, so
    that both kinds are measured by the same users on the same server, in turns."""
    run = secrets.token_hex(4)
    alice = await register(port, f"bench_a_{run}")
    bob = await register(port, f"bench_b_{run}")
    receiver: Receiver | None = None
    try:
        group_id = (await alice.request("POST", "/api/groups", {"name": f"bench {run}"}, expect=201))["group"]["id"]
        await bob.request("PUT", f"/api/groups/{group_id}/membership")
        receiver = Receiver(bob, group_id, (await bob.request("GET", "/api/events"))["cursor"])
        sent: list[dict[str, Any]] = []
        made: list[dict[str, Any]] = []  # the reacted-to message after each toggle, as A was answered
        messages, toggles = Timings(), Timings() if reactions else None
        for i in range(WARMUP_MESSAGES + count):
            counted = i >= WARMUP_MESSAGES
            client_id = f"{run}-{i}"
            body = {"text": f"bench message {i} of run {run}", "client_id": client_id}
            await receiver.park()
            t0 = time.perf_counter()
            answer = await alice.request("POST", f"/api/groups/{group_id}/messages", body, expect=201)
            sent_at = time.perf_counter()
            received_at = await receiver.wait_for(client_id)
            sent.append(answer["message"])
            if counted:
                messages.add(t0, sent_at, received_at)
            if toggles is None:
                continue
            # The first toggle is a warm-up one: a message's first change also logs its first version.
            await receiver.park()
            t0 = time.perf_counter()
            after = await toggle(alice, made[-1] if made else sent[0], REACTION, i)
            answered_at = time.perf_counter()
            received_at = await receiver.wait_for_change(after["id"], after["version"])
            made.append(after)
            if counted:
                toggles.add(t0, answered_at, received_at)
        await receiver.drain()
        check_delivery(sent, receiver.received)
        check_changes(made, receiver.changed)
        return messages, toggles
    finally:
        if receiver is not None:
            receiver.close()
        alice.close()
        bob.close()


async def bench(
    server: subprocess.Popen[bytes], port: int, count: int, reactions: bool = False
) -> tuple[Timings, Timings | None]:
    await wait_healthy(server, port)
    log.info(
        "server healthy; %d warm-up and %d measured messages%s", WARMUP_MESSAGES, count,
        ", each followed by a reaction toggled" if reactions else "",
    )
    return await measure(port, count, reactions)


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no log at {path})"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def throwaway_url(url: str, database: str) -> str:
    """The same server, credentials and options as ``url``, with another database."""
    DatabaseURL.parse(url)  # reject a malformed URL with the app's own message
    return urlunsplit(urlsplit(url)._replace(path="/" + database))


def drop_database(url: str) -> None:
    target = DatabaseURL.parse(url)
    conn = pymysql.connect(autocommit=True, **target.connect_kwargs(with_database=False))
    try:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{target.database}`")
    finally:
        conn.close()


@contextlib.contextmanager
def bench_database(database_url: str | None, workdir: Path) -> Iterator[str]:
    """A throwaway database for one run: on ``database_url``'s server (dropped afterwards)
    or on a private MariaDB in ``workdir`` (stopped afterwards); yields its URL."""
    database = f"bench_{secrets.token_hex(6)}"
    if database_url:
        url = throwaway_url(database_url, database)
        try:
            yield url
        finally:
            try:
                drop_database(url)
            except pymysql.MySQLError as exc:
                log.warning("could not drop the throwaway database %s: %s", database, exc)
        return
    embedded = EmbeddedMariaDB(workdir / "mariadb")
    log.info("starting a private MariaDB in %s", embedded.datadir)
    embedded.start()
    try:
        yield embedded.url(database)
    finally:
        embedded.stop()


def start_server(
    workdir: Path, port: int, url: str, *flags: str, launcher: Sequence[str] = (), root: Path = REPO_ROOT
) -> subprocess.Popen[bytes]:
    """run.py as a process of its own, logging to workdir/server-PORT.log; ``launcher``: a script
    that runs run.py (bench/traced.py and its arguments); ``root``: the checkout whose run.py
    (and package) to run, another commit's to compare with it."""
    server_log = workdir / f"server-{port}.log"
    command = [sys.executable, *launcher, "run.py", "--port", str(port), "--database-url", url, "--bcrypt-rounds", "4"]
    # Load from one address, as fast as it goes: the rate limits would measure themselves.
    command += ["--register-limit", "off", "--send-limit", "off", "--upload-limit", "off", "--typing-limit", "off"]
    command += ["--var-dir", str(workdir / "var"), *flags]
    log.info("starting run.py on port %d (log: %s)", port, server_log)
    with server_log.open("wb") as log_file:
        return subprocess.Popen(command, cwd=root, stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file)


def stop_server(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            log.warning("run.py did not stop within %g s of SIGTERM; killing it", STOP_TIMEOUT)
            server.kill()
            server.wait()


def milliseconds(seconds: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(seconds, n=100, method="inclusive")
    return {
        "median_ms": statistics.median(seconds) * 1000,
        "p90_ms": cuts[89] * 1000,
        "p99_ms": cuts[98] * 1000,
        "min_ms": min(seconds) * 1000,
        "max_ms": max(seconds) * 1000,
    }


def common_fields() -> dict[str, Any]:
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "python": platform.python_version(),
        "tornado": tornado.version,
    }


def report(latencies: list[float], round_trips: list[float]) -> dict[str, Any]:
    figures = {name: round(value, 3) for name, value in milliseconds(latencies).items()}
    return {
        "scenario": SCENARIO,
        "n": len(latencies),
        **figures,
        "send_rtt_median_ms": round(statistics.median(round_trips) * 1000, 3),
        **common_fields(),
    }


def table(result: dict[str, Any]) -> str:
    rows = [
        ("median", result["median_ms"]),
        ("p90", result["p90_ms"]),
        ("p99", result["p99_ms"]),
        ("min", result["min_ms"]),
        ("max", result["max_ms"]),
        ("send round-trip, median", result["send_rtt_median_ms"]),
    ]
    title = f"send -> another user's parked long poll, {result['n']} messages, one at a time"
    return "\n".join([title, *(f"  {name:<24}{value:>9.2f} ms" for name, value in rows)])


def kind_figures(timings: Timings) -> dict[str, float]:
    """Latency figures of one kind of action, its own round-trip, and what came after that."""
    found = milliseconds(timings.latencies)
    found["rtt_median_ms"] = statistics.median(timings.round_trips) * 1000
    after = [lat - rtt for lat, rtt in zip(timings.latencies, timings.round_trips, strict=True)]
    found["after_rtt_median_ms"] = statistics.median(after) * 1000
    return {name: round(value, 3) for name, value in found.items()}


def reactions_report(messages: Timings, toggles: Timings) -> dict[str, Any]:
    message, reaction = kind_figures(messages), kind_figures(toggles)
    return {
        "scenario": REACTIONS_SCENARIO,
        "n": len(messages.latencies),
        "message": message,
        "reaction": reaction,
        "ratio_median": round(reaction["median_ms"] / message["median_ms"], 3),
        "ratio_p99": round(reaction["p99_ms"] / message["p99_ms"], 3),
        **common_fields(),
    }


def reactions_table(result: dict[str, Any]) -> str:
    message, reaction = result["message"], result["reaction"]
    title = (f"A's action -> B's parked long poll, {result['n']} messages and {result['n']} reactions "
             "toggled, in turns, one at a time")
    lines = [title, f"  {'':<28}{'message':>12}{'reaction':>12}{'reaction/message':>18}"]
    for label, key in (
        ("median", "median_ms"), ("p90", "p90_ms"), ("p99", "p99_ms"), ("min", "min_ms"), ("max", "max_ms"),
        ("own round-trip, median", "rtt_median_ms"), ("after its answer, median", "after_rtt_median_ms"),
    ):
        ratio = {"median_ms": result["ratio_median"], "p99_ms": result["ratio_p99"]}.get(key)
        lines.append(f"  {label:<28}{message[key]:>9.2f} ms{reaction[key]:>9.2f} ms"
                     + (f"{ratio:>18.2f}" if ratio is not None else ""))
    return "\n".join(lines)


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every benchmark here takes."""
    parser.add_argument(
        "--database-url",
        default=os.environ.get("CHAT_BENCH_DATABASE_URL"),
        help="mysql://user:pass@host:port/db of a server to use (env CHAT_BENCH_DATABASE_URL); a throwaway "
        "database is created there and dropped. Default: a private MariaDB in a temp dir",
    )
    parser.add_argument("--json-only", action="store_true", help="print only the JSON line, no table or progress")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100, help="messages measured, after the warm-up (default 100)")
    parser.add_argument(
        "--reactions",
        action="store_true",
        help="after each message, toggle a reaction (PUT, DELETE, ...) on one message and time it the same way: "
        "as many reactions as messages, reported side by side",
    )
    add_common_arguments(parser)
    args = parser.parse_args(argv)
    if args.messages < 2:
        parser.error("--messages must be at least 2")
    return args


def run_against_one_server(
    scenario: str,
    args: argparse.Namespace,
    bench: Callable[[subprocess.Popen[bytes], int], Awaitable[dict[str, Any]]],
    table: Callable[[dict[str, Any]], str],
    failed: Callable[[dict[str, Any]], bool] = lambda result: False,
    flags: Sequence[str] = (),
) -> int:
    """The frame of a one-server benchmark: a database and run.py (given ``flags``), ``bench``'s
    figures printed as a JSON line and a table, everything stopped and removed after; 1 when it
    could not be measured or its figures say it ``failed``. ``args.bench_database`` is the
    throwaway database's URL, for a benchmark that writes its data straight into it."""
    logging.basicConfig(level=logging.WARNING if args.json_only else logging.INFO, format="bench: %(message)s")
    stack = contextlib.ExitStack()
    workdir = Path(tempfile.mkdtemp(prefix="chat-bench-"))
    server: subprocess.Popen[bytes] | None = None
    try:
        url = args.bench_database = stack.enter_context(bench_database(args.database_url, workdir))
        port = free_port()
        server = start_server(workdir, port, url, *flags)
        result = asyncio.run(bench(server, port))
    except (BenchError, ConfigError, DBServerError, pymysql.MySQLError, OSError) as exc:
        print(f"{scenario}: {str(exc) or type(exc).__name__}", file=sys.stderr)
        if server is not None:
            print(f"last lines of the server's log:\n{tail(workdir / f'server-{port}.log')}", file=sys.stderr)
        return 1
    finally:
        if server is not None:
            stop_server(server)
        stack.close()
        shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(result), flush=True)
    if not args.json_only:
        print(table(result))
    return 1 if failed(result) else 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    async def measure(server: subprocess.Popen[bytes], port: int) -> dict[str, Any]:
        messages, toggles = await bench(server, port, args.messages, args.reactions)
        if toggles is None:
            return report(messages.latencies, messages.round_trips)
        return reactions_report(messages, toggles)

    if args.reactions:
        return run_against_one_server(REACTIONS_SCENARIO, args, measure, reactions_table)
    return run_against_one_server(SCENARIO, args, measure, table)


if __name__ == "__main__":
    sys.exit(main())
