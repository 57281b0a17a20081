"""An asyncio load generator that speaks tornado_chat's HTTP contract, and the scenarios it runs.

Every client is a user with a Bearer token and one keep-alive HTTP/1.1 connection
(send_to_receive.Connection), carrying one request at a time: a long poll that
passes back the cursor of the answer before, or a send. The same code drives
tornado_chat (run.py) and the yardstick (bench/baseline.py), which answers the same
routes in the same JSON shapes, so that the two can be compared figure by figure.

One function per scenario run (``*_run``), each returning a flat dict of figures;
bench/suite.py starts the servers, interleaves the runs (yardstick, logged yardstick,
tornado_chat, yardstick, ...) and compares. What is measured, and how, is in bench/README.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pymysql  # noqa: E402
from cross_process import metric  # noqa: E402
from send_to_receive import (  # noqa: E402
    PASSWORD,
    BenchError,
    Connection,
    Receiver,
    check_delivery,
    milliseconds,
    toggle,
)

from tornado_chat.config import DatabaseURL  # noqa: E402

T = TypeVar("T")
R = TypeVar("R")

POLL_TIMEOUT = 60  # seconds, the contract's longest: a held poll is answered by news, not by its timeout
CONCURRENCY = 32  # connections used to register users and join groups
CONNECT_CONCURRENCY = 100  # listeners connecting (and taking their first cursor) at once
QUIET = 2.5  # seconds without any answer before measuring: presence changes come at most every 2 s
SETTLE_LIMIT = 30.0  # ... but no longer than this
PARK_SETTLE = 0.01  # after the server counts every poll open: time for the last ones to park
PARK_LIMIT = 60.0
QUIET_DB = 0.005  # seconds without a statement of others: the re-polls' own queries are all done
DELIVERY_DEADLINE = 30.0
FANOUT_WARMUP = 2  # sends (and then changes) in the fan-out before the measured ones
REACTION = "👀"  # what the fan-out's changes toggle on its last message
PINGPONG_WARMUP = 10
TICKS = os.sysconf("SC_CLK_TCK")


# Processes, seen from /proc


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (its own, not its children's)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime: fields 14 and 15 of stat(5)


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise BenchError(f"no VmRSS for process {pid}")


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def children_named(names: Iterable[str]) -> list[int]:
    """Pids of this process's children called one of ``names`` (the private MariaDB)."""
    me, wanted, found = os.getpid(), set(names), []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            text = stat.read_text()
            comm, rest = text[text.index("(") + 1 : text.rindex(")")], text.rsplit(")", 1)[1].split()
            if comm in wanted and int(rest[1]) == me:
                found.append(int(stat.parent.name))
    return found


def raise_fd_limit() -> int:
    """Soft RLIMIT_NOFILE up to the hard limit; servers started afterwards inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1 << 20
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class Questions:
    """``SHOW GLOBAL STATUS LIKE 'Questions'`` of the database server: statements received from
    every client. Each reading is itself a statement; ``between`` takes it off."""

    def __init__(self, database_url: str) -> None:
        self._conn = pymysql.connect(autocommit=True, **DatabaseURL.parse(database_url).connect_kwargs(False))

    def read(self) -> int:
        with self._conn.cursor() as cur:
            cur.execute("SHOW GLOBAL STATUS LIKE 'Questions'")
            return int(cur.fetchone()[1])

    @staticmethod
    def between(first: int, second: int, readings_between: int = 0) -> int:
        """Statements of others from reading ``first`` to reading ``second`` (the later reading counts itself)."""
        return second - first - 1 - readings_between

    def close(self) -> None:
        self._conn.close()


@dataclass
class Target:
    """A server under test: the yardstick or tornado_chat, one process or several."""

    name: str
    ports: list[int]
    pids: list[int]
    questions: Questions | None = None  # the database's statement counter; None without a database
    db_pids: list[int] = field(default_factory=list)
    scrapes: int = 0  # GET /metrics so far: the load generator's own requests, not load
    scrape_cpu: float = 0.0  # server CPU seconds one of them costs (see calibrate_scrapes)

    @property
    def port(self) -> int:
        return self.ports[0]

    def cpu(self) -> float:
        return sum(cpu_seconds(pid) for pid in self.pids)

    def db_cpu(self) -> float:
        return sum(cpu_seconds(pid) for pid in self.db_pids)

    async def open_polls(self) -> int:
        counts = await asyncio.gather(*(asyncio.to_thread(metric, port, "chat_open_polls") for port in self.ports))
        self.scrapes += len(self.ports)
        return int(sum(counts))

    async def calibrate_scrapes(self, count: int = 200) -> None:
        """What a GET /metrics costs the server, so that the CPU charged to deliveries leaves it out."""
        first, scrapes = self.cpu(), self.scrapes
        for _ in range(count):
            await self.open_polls()
        self.scrape_cpu = (self.cpu() - first) / (self.scrapes - scrapes)


@dataclass
class Usage:
    """Counters read together, so that a stretch of the run can be charged for what it cost."""

    wall: float
    server_cpu: float
    db_cpu: float
    loadgen_cpu: float
    questions: int | None
    scrapes: int
    scrape_cpu: float

    @classmethod
    def now(cls, target: Target) -> Usage:
        questions = target.questions.read() if target.questions else None
        return cls(time.perf_counter(), target.cpu(), target.db_cpu(), own_cpu_seconds(), questions,
                   target.scrapes, target.scrape_cpu)

    def per(self, later: Usage, count: int, readings_between: int = 0) -> dict[str, float | None]:
        """Costs from this reading to ``later``, per one of ``count`` things (deliveries)."""
        statements = None
        if self.questions is not None and later.questions is not None:
            statements = Questions.between(self.questions, later.questions, readings_between) / count
        scraping = (later.scrapes - self.scrapes) * self.scrape_cpu
        return {
            "server_cpu_us": (later.server_cpu - self.server_cpu - scraping) / count * 1e6,
            "db_cpu_us": (later.db_cpu - self.db_cpu) / count * 1e6,
            "loadgen_cpu_us": (later.loadgen_cpu - self.loadgen_cpu) / count * 1e6,
            "statements": statements,
        }


# Users and groups


@dataclass(frozen=True)
class Member:
    id: int
    username: str
    token: str


async def each(port: int, items: Sequence[T], work: Callable[[Connection, T], Awaitable[R]],
               width: int = CONCURRENCY) -> list[R]:
    """``work(connection, item)`` for every item, over ``width`` keep-alive connections at once."""
    results: list[Any] = [None] * len(items)
    todo = iter(enumerate(items))

    async def worker() -> None:
        conn = await Connection.open(port)
        try:
            for index, item in todo:
                results[index] = await work(conn, item)
        finally:
            conn.close()

    await asyncio.gather(*(worker() for _ in range(min(width, len(items)))))
    return results


class Population:
    """Users registered on one server (or one database), by role, and groups of them: made once,
    grown on demand, reused by every run. Names carry ``tag`` so that runs never collide."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.roles: dict[str, list[Member]] = defaultdict(list)
        self.groups: dict[str, int] = {}

    async def members(self, port: int, role: str, count: int) -> list[Member]:
        have = self.roles[role]
        if len(have) < count:
            names = [f"{self.tag}{role[:2]}{i}" for i in range(len(have), count)]

            async def register(conn: Connection, username: str) -> Member:
                conn.token = None
                body = {"username": username, "password": PASSWORD}
                answer = await conn.request("POST", "/api/users", body, expect=201)
                return Member(answer["user"]["id"], username, answer["token"])

            have += await each(port, names, register)
        return have[:count]

    async def group(self, port: int, key: str, creator: Member, members: Sequence[Member]) -> int:
        """The group called ``key`` (created by ``creator`` the first time), with ``members`` in it."""
        if key not in self.groups:
            conn = await Connection.open(port)
            try:
                conn.token = creator.token
                answer = await conn.request("POST", "/api/groups", {"name": f"{key} {self.tag}"}, expect=201)
            finally:
                conn.close()
            self.groups[key] = answer["group"]["id"]
        group_id = self.groups[key]
        joined = self.roles.setdefault(f"in {key}", [])
        known = {m.id for m in joined}
        fresh = [m for m in members if m.id not in known and m.id != creator.id]

        async def join(conn: Connection, member: Member) -> None:
            conn.token = member.token
            await conn.request("PUT", f"/api/groups/{group_id}/membership")

        await each(port, fresh, join)
        joined += fresh
        return group_id


# Clients


class Tracker:
    """What a run's listeners received, when, and whether all of it has arrived."""

    def __init__(self) -> None:
        self.receipts: dict[str, list[float]] = defaultdict(list)  # key -> perf_counter() of each receipt
        self.sent_at: dict[str, float] = {}
        self.last_answer = time.perf_counter()
        self.answers = 0
        self.errors: list[str] = []
        self.gate = asyncio.Event()  # cleared: a listener that has just got a message waits before polling again
        self.gate.set()
        self._waiting: dict[str, tuple[int, asyncio.Event]] = {}
        self.delivered_total = 0

    def expect(self, key: str, count: int) -> asyncio.Event:
        done = asyncio.Event()
        self._waiting[key] = (count, done)
        return done

    def received(self, key: str, at: float) -> None:
        """A receipt of what ``key`` names: a message's client_id, or a change's ``change_key``."""
        times = self.receipts[key]
        times.append(at)
        self.delivered_total += 1
        waiting = self._waiting.get(key)
        if waiting is not None and len(times) >= waiting[0]:
            waiting[1].set()

    async def quiet(self, seconds: float = QUIET, limit: float = SETTLE_LIMIT) -> bool:
        """Wait until no answer has come for ``seconds``; False if that took longer than ``limit``."""
        deadline = time.perf_counter() + limit
        while (wait := self.last_answer + seconds - time.perf_counter()) > 0:
            if time.perf_counter() > deadline:
                return False
            await asyncio.sleep(min(wait, 0.25))
        return True

    def check(self) -> None:
        if self.errors:
            raise BenchError(f"{len(self.errors)} clients failed; the first: {self.errors[0]}")


def change_key(message_id: int, version: int) -> str:
    """What a change's receipts are filed under: it has no client_id, but each change of a message
    makes exactly one new version of it."""
    return f"change {message_id} v{version}"


class Listener:
    """One client's long poll: poll with the last cursor, take the answer, poll again, until closed."""

    def __init__(self, conn: Connection, tracker: Tracker, cursor: str, timeout: int) -> None:
        self.conn = conn
        self.tracker = tracker
        self.cursor = cursor
        self.timeout = timeout
        self.messages: list[dict[str, Any]] = []
        self.changes: list[dict[str, Any]] = []  # the message of each message_changed, in arrival order
        self._task: asyncio.Task[None] | None = None

    @classmethod
    async def connect(cls, port: int, member: Member, tracker: Tracker, timeout: int = POLL_TIMEOUT) -> Listener:
        """Connect, take a cursor for "now" (the cursorless request) and start polling with it."""
        conn = await Connection.open(port)
        try:
            conn.token = member.token
            cursor = (await conn.request("GET", "/api/events"))["cursor"]
        except BaseException:
            conn.close()
            raise
        listener = cls(conn, tracker, cursor, timeout)
        listener.start()
        return listener

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        tracker = self.tracker
        try:
            while True:
                path = f"/api/events?cursor={quote(self.cursor)}&timeout={self.timeout}"
                answer = await self.conn.request("GET", path)
                at = time.perf_counter()
                self.cursor = answer["cursor"]
                tracker.last_answer = at
                tracker.answers += 1
                got = False
                for event in answer["events"]:
                    if event["type"] == "message":
                        self.messages.append(event["message"])
                        tracker.received(event["message"].get("client_id") or "", at)
                        got = True
                    elif event["type"] == "message_changed":
                        message = event["message"]
                        self.changes.append(message)
                        tracker.received(change_key(message["id"], message["version"]), at)
                        got = True
                if got and not tracker.gate.is_set():
                    await tracker.gate.wait()
        except BenchError as exc:
            tracker.errors.append(str(exc))
        except (OSError, ValueError, KeyError) as exc:
            tracker.errors.append(repr(exc))

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        self.conn.close()


async def connect_all(ports: Sequence[int], members: Sequence[Member], tracker: Tracker,
                      timeout: int = POLL_TIMEOUT) -> list[Listener]:
    """A listener for every member, spread over ``ports`` in turn, CONNECT_CONCURRENCY at a time."""
    listeners: list[Listener] = []
    todo = iter(enumerate(members))

    async def worker() -> None:
        for index, member in todo:
            listeners.append(await Listener.connect(ports[index % len(ports)], member, tracker, timeout))

    try:
        await asyncio.gather(*(worker() for _ in range(min(CONNECT_CONCURRENCY, len(members)))))
    except BaseException:
        close_all(listeners)
        raise
    return listeners


def close_all(listeners: Iterable[Listener]) -> None:
    for listener in listeners:
        listener.close()


async def wait_open_polls(target: Target, count: int, exact: bool = False, limit: float = PARK_LIMIT,
                          first_look: float = 0.0) -> float:
    """Until the server counts ``count`` (at least, or exactly) events requests open, then PARK_SETTLE;
    the seconds it took. Its first look is after ``first_look`` seconds (each look costs the server)."""
    started = time.perf_counter()
    await asyncio.sleep(first_look)
    while True:
        found = await target.open_polls()
        if found == count or (found > count and not exact):
            break
        elapsed = time.perf_counter() - started
        if elapsed > limit:
            raise BenchError(f"{target.name}: {found} polls open after {limit:g} s, expected {count}")
        await asyncio.sleep(min(0.1, max(0.005, elapsed / 10)))
    took = time.perf_counter() - started
    await asyncio.sleep(PARK_SETTLE)
    return took


async def quiesce(questions: Questions, limit: float = 5.0) -> tuple[int, int]:
    """Until nobody else has sent the database a statement for QUIET_DB seconds; the last reading,
    and how many readings were taken."""
    deadline = time.perf_counter() + limit
    last, readings = questions.read(), 1
    while True:
        await asyncio.sleep(QUIET_DB)
        now = questions.read()
        readings += 1
        if Questions.between(last, now) == 0 or time.perf_counter() > deadline:
            return now, readings
        last = now


async def open_member(port: int, member: Member) -> Connection:
    conn = await Connection.open(port)
    conn.token = member.token
    return conn


def rebased(messages: Sequence[dict[str, Any]], base: int) -> list[dict[str, Any]]:
    """Copies with seq counted from this run's first message, for check_delivery's 1, 2, 3, ..."""
    return [{**m, "seq": m["seq"] - base} for m in messages]


def latency_figures(samples: list[float]) -> dict[str, float]:
    found = milliseconds(samples)
    return {"p50_ms": found["median_ms"], "p90_ms": found["p90_ms"], "p99_ms": found["p99_ms"],
            "max_ms": found["max_ms"]}


# Scenarios: one run each, against one target


async def pingpong_run(target: Target, pop: Population, messages: int, key: str) -> dict[str, Any]:
    """One sender, one listener with a poll parked, messages one at a time: send start -> receipt."""
    alice, bob = await pop.members(target.port, "pingpong", 2)
    group_id = await pop.group(target.port, key, alice, [bob])
    sender, receiving = await open_member(target.port, alice), await open_member(target.port, bob)
    receiver = Receiver(receiving, group_id, (await receiving.request("GET", "/api/events"))["cursor"])
    sent: list[dict[str, Any]] = []
    latencies: list[float] = []
    try:
        before: Usage | None = None
        for i in range(PINGPONG_WARMUP + messages):
            if i == PINGPONG_WARMUP:
                before = Usage.now(target)
            client_id = f"{pop.tag}-{key}-{i}"
            await receiver.park()
            t0 = time.perf_counter()
            answer = await sender.request("POST", f"/api/groups/{group_id}/messages",
                                          {"text": f"ping {i}", "client_id": client_id}, expect=201)
            latencies.append(await receiver.wait_for(client_id) - t0)
            sent.append(answer["message"])
        after = Usage.now(target)  # from before the first measured message's poll to its last answer
        await receiver.drain()
        base = sent[0]["seq"] - 1
        check_delivery(rebased(sent, base), rebased(receiver.received, base))
    finally:
        receiver.close()
        sender.close()
        receiving.close()
    assert before is not None
    costs = before.per(after, messages)
    return {
        "messages": messages,
        **latency_figures(latencies[PINGPONG_WARMUP:]),
        "server_cpu_per_delivery_us": costs["server_cpu_us"],
        "db_cpu_per_delivery_us": costs["db_cpu_us"],
        "loadgen_cpu_per_delivery_us": costs["loadgen_cpu_us"],
        "statements_per_delivery": costs["statements"],
    }


async def send_statements(target: Target, pop: Population) -> float | None:
    """Statements of one send into a group where nobody waits: the sender's share, to take off."""
    if target.questions is None:
        return None
    (sender,) = await pop.members(target.port, "calibrate", 1)
    group_id = await pop.group(target.port, "calibrate", sender, [])
    conn = await open_member(target.port, sender)
    counts = []
    try:
        for i in range(7):
            first = target.questions.read()
            body = {"text": f"calibrate {i}", "client_id": f"{pop.tag}-calibrate-{time.time_ns()}"}  # as the runs do
            await conn.request("POST", f"/api/groups/{group_id}/messages", body, expect=201)
            counts.append(Questions.between(first, target.questions.read()))
    finally:
        conn.close()
    return statistics.median(counts)


async def change_statements(target: Target, pop: Population) -> float | None:
    """Statements of one change (a reaction toggled) to a message of a group where nobody waits:
    the changer's share, to take off. The message's first change also logs its first version, one
    statement more, so it is made before counting, as the fan-out's warm-up changes do."""
    if target.questions is None:
        return None
    (changer,) = await pop.members(target.port, "calibrate", 1)
    group_id = await pop.group(target.port, "calibrate", changer, [])
    conn = await open_member(target.port, changer)
    counts = []
    try:
        body = {"text": "calibrate changes", "client_id": f"{pop.tag}-calibrate-{time.time_ns()}"}
        message = (await conn.request("POST", f"/api/groups/{group_id}/messages", body, expect=201))["message"]
        message = await toggle(conn, message, REACTION, 0)
        for i in range(1, 9):  # as many PUTs as DELETEs: the median is their mean should they differ
            first = target.questions.read()
            message = await toggle(conn, message, REACTION, i)
            counts.append(Questions.between(first, target.questions.read()))
    finally:
        conn.close()
    return statistics.median(counts)


async def fanout_setup(target: Target, pop: Population, most: int) -> tuple[Member, list[Member], int]:
    """The fan-out group: a sender and ``most`` listeners; the runs use its first N listeners."""
    members = await pop.members(target.port, "fanout", most + 1)
    group_id = await pop.group(target.port, "fanout", members[0], members[1:])
    return members[0], members[1:], group_id


@dataclass
class Rounds:
    """Actions (sends or changes) delivered one at a time to every listener: what the measured ones cost."""

    keys: list[str]  # each measured action's receipt key
    bursts: list[float]  # each measured action's start -> its last receipt
    statements: int  # the database statements from each measured action's start to its last receipt, summed
    before: Usage
    after: Usage
    readings: int  # the statement counter's readings between before and after, taken off
    paused: float  # seconds spent waiting for the database to be quiet: not counted in the rate
    answers: int  # poll answers
    delivered: int  # receipts (of anything)


async def one_at_a_time(target: Target, tracker: Tracker, n: int, warmup: int, count: int,
                        key: Callable[[int], str], act: Callable[[int], Awaitable[None]]) -> Rounds:
    """``warmup`` then ``count`` actions, each delivered to all ``n`` listeners before the next: the
    database goes quiet; t0; ``act(i)``; every listener's receipt of ``key(i)`` (registered before
    acting); then every listener polls again and the server counts ``n`` open. Until all ``n`` have
    it, a listener that got it waits before it re-polls: so the statements from t0 to the last receipt
    are the action's own and those of answering waiting polls, not the re-polls'."""
    keys: list[str] = []
    bursts: list[float] = []
    statements = readings = answers = delivered = 0
    paused = repolled = 0.0  # repolled: how long the last round's re-polls took to be open on the server
    before: Usage | None = None
    for i in range(warmup + count):
        if i == warmup:
            before = Usage.now(target)
            readings, paused = 0, 0.0
            answers, delivered = tracker.answers, tracker.delivered_total
        wanted = key(i)
        done = tracker.expect(wanted, n)
        tracker.gate.clear()
        first = None
        if target.questions:
            paused_at = time.perf_counter()
            first, taken = await quiesce(target.questions)
            readings += taken
            paused += time.perf_counter() - paused_at
        t0 = time.perf_counter()
        tracker.sent_at[wanted] = t0
        await act(i)
        try:
            await asyncio.wait_for(done.wait(), DELIVERY_DEADLINE)
        except TimeoutError:
            tracker.check()
            got = len(tracker.receipts[wanted])
            raise BenchError(f"{wanted} reached {got} of {n} listeners within {DELIVERY_DEADLINE:g} s") from None
        finished = time.perf_counter()
        if target.questions and first is not None:
            statements += Questions.between(first, target.questions.read()) if i >= warmup else 0
            readings += 1
        tracker.gate.set()
        if i >= warmup:
            keys.append(wanted)
            bursts.append(finished - t0)
        repolled = await wait_open_polls(target, n, first_look=repolled * 0.8)
    after = Usage.now(target)
    assert before is not None
    return Rounds(keys, bursts, statements, before, after, readings, paused,
                  tracker.answers - answers, tracker.delivered_total - delivered)


async def fanout_run(target: Target, pop: Population, n: int, messages: int, per_send: float | None,
                     key: str, changes: int = 0, per_change: float | None = None) -> dict[str, Any]:
    """N listeners with polls parked in one group; messages one at a time, each sent only when every
    listener has the one before and has polled again (the server counts N polls open). Then, with
    ``changes``, as many reaction toggles on the last message, one at a time in the same way (the
    yardstick has no reactions: 0 for it). Beside each receipt's latency: per message, the time until
    the last listener has it ("fan-out complete"), and the send's own round-trip until its 201."""
    sender_member, members, group_id = await fanout_setup(target, pop, n)
    await wait_open_polls(target, 0, exact=True)
    await target.calibrate_scrapes()
    tracker = Tracker()
    listeners = await connect_all(target.ports, members[:n], tracker)
    sender = await open_member(target.port, sender_member)
    sent: list[dict[str, Any]] = []
    send_rtts: list[float] = []  # each send's own round-trip, until its 201 has been read
    made: list[dict[str, Any]] = []  # the reacted-to message after each toggle

    def client_id(i: int) -> str:
        return f"{pop.tag}-{key}-{i}"

    async def send(i: int) -> None:
        started = time.perf_counter()
        answer = await sender.request("POST", f"/api/groups/{group_id}/messages",
                                      {"text": f"fanout {i}", "client_id": client_id(i)}, expect=201)
        send_rtts.append(time.perf_counter() - started)
        sent.append(answer["message"])

    def next_change(i: int) -> str:
        last = made[-1] if made else sent[-1]
        return change_key(last["id"], last["version"] + 1)

    async def change(i: int) -> None:
        made.append(await toggle(sender, made[-1] if made else sent[-1], REACTION, i))

    changed: Rounds | None = None
    try:
        connected_at = time.perf_counter()
        await wait_open_polls(target, n)
        settled = await tracker.quiet()
        await wait_open_polls(target, n)
        setup_s = time.perf_counter() - connected_at
        rounds = await one_at_a_time(target, tracker, n, FANOUT_WARMUP, messages, client_id, send)
        if changes:  # the first change of the message also logs its first version: a warm-up one
            changed = await one_at_a_time(target, tracker, n, FANOUT_WARMUP, changes, next_change, change)
        tracker.check()
        base = sent[0]["seq"] - 1
        mine = rebased(sent, base)
        for listener in listeners:
            check_delivery(mine, rebased([m for m in listener.messages if m["group_id"] == group_id], base))
            if [m for m in listener.changes if m["group_id"] == group_id] != made:
                raise BenchError(f"a listener got the changes {[(m['id'], m['version']) for m in listener.changes]}, "
                                 f"not those made, {[(m['id'], m['version']) for m in made]}, each once in order")
        extra = sum(1 for listener in listeners for m in listener.messages if m["group_id"] != group_id)
    finally:
        close_all(listeners)
        sender.close()
    deliveries = n * messages
    latencies = [at - tracker.sent_at[cid] for cid in rounds.keys for at in tracker.receipts[cid]]
    costs = rounds.before.per(rounds.after, deliveries, rounds.readings)
    waiting = None
    if per_send is not None and costs["statements"] is not None:
        waiting = (rounds.statements - per_send * messages) / deliveries
    figures = {
        "n": n,
        "messages": messages,
        "deliveries": deliveries,
        **latency_figures(latencies),
        "complete_p50_ms": statistics.median(rounds.bursts) * 1000,  # send -> the last listener has it
        "complete_max_ms": max(rounds.bursts) * 1000,
        "send_rtt_p50_ms": statistics.median(send_rtts[FANOUT_WARMUP:]) * 1000,
        "deliveries_per_s": deliveries / (rounds.after.wall - rounds.before.wall - rounds.paused),
        "burst_deliveries_per_s": deliveries / sum(rounds.bursts),
        "server_cpu_per_delivery_us": costs["server_cpu_us"],
        "db_cpu_per_delivery_us": costs["db_cpu_us"],
        "loadgen_cpu_per_delivery_us": costs["loadgen_cpu_us"],
        "statements_per_delivery": costs["statements"],
        "statements_per_waiting_delivery": waiting,
        "messages_per_answer": rounds.delivered / max(1, rounds.answers),
        "setup_s": setup_s,
        "scrapes_per_message": (rounds.after.scrapes - rounds.before.scrapes) / messages,
        "scrape_cpu_us": target.scrape_cpu * 1e6,
        "settled": settled,
        "other_messages": extra,
    }
    if changed is not None:
        figures.update(change_figures(changed, tracker, n, changes, per_change))
    return figures


def change_figures(changed: Rounds, tracker: Tracker, n: int, changes: int,
                   per_change: float | None) -> dict[str, Any]:
    """The fan-out's figures for changes, named apart from the messages'."""
    deliveries = n * changes
    latencies = [at - tracker.sent_at[k] for k in changed.keys for at in tracker.receipts[k]]
    found = latency_figures(latencies)
    costs = changed.before.per(changed.after, deliveries, changed.readings)
    waiting = None
    if per_change is not None and costs["statements"] is not None:
        waiting = (changed.statements - per_change * changes) / deliveries
    return {
        "changes": changes,
        "change_p50_ms": found["p50_ms"],
        "change_p99_ms": found["p99_ms"],
        "change_burst_deliveries_per_s": deliveries / sum(changed.bursts),
        "server_cpu_per_change_delivery_us": costs["server_cpu_us"],
        "statements_per_change": per_change,
        "statements_per_change_delivery": costs["statements"],
        "statements_per_waiting_change": waiting,
    }


async def idle_setup(target: Target, pop: Population, most: int, group_size: int) -> tuple[Member, list[Member]]:
    """``most`` users in groups of ``group_size``, all created by one more user (who sends in the storm)."""
    members = await pop.members(target.port, "idle", most + 1)
    creator, users = members[0], members[1:]
    for start in range(0, most, group_size):
        await pop.group(target.port, f"idle {start // group_size}", creator, users[start : start + group_size])
    return creator, users


async def idle_run(target: Target, pop: Population, n: int, group_size: int, window: float) -> dict[str, Any]:
    """N polls held by one freshly started process: its memory and fds before and after, and (with a
    database) the statements it makes per second while they wait."""
    _, users = await idle_setup(target, pop, n, group_size)
    (pid,) = target.pids
    tracker = Tracker()
    warm = await connect_all(target.ports, users[:20], tracker)  # the code paths, once
    await asyncio.sleep(0.2)
    close_all(warm)
    await wait_open_polls(target, 0, exact=True)
    await asyncio.sleep(0.2)
    rss_before, fds_before = rss_bytes(pid), open_fds(pid)
    started = time.perf_counter()
    tracker = Tracker()
    listeners = await connect_all(target.ports, users[:n], tracker)
    try:
        connect_s = time.perf_counter() - started
        await wait_open_polls(target, n)
        settled = await tracker.quiet()
        held = await target.open_polls()
        rss, fds = rss_bytes(pid), open_fds(pid)
        figures: dict[str, Any] = {
            "n": n,
            "held": held,
            "rss_before_mb": rss_before / 2**20,
            "rss_mb": rss / 2**20,
            "rss_per_poll_kb": (rss - rss_before) / n / 1024,
            "fds_before": fds_before,
            "fds": fds,
            "connect_s": connect_s,
            "settled": settled,
        }
        if window > 0:
            answers = tracker.answers
            before = Usage.now(target)
            await asyncio.sleep(window)
            after = Usage.now(target)
            costs = before.per(after, 1)
            elapsed = after.wall - before.wall
            figures["statements_per_s"] = None if costs["statements"] is None else costs["statements"] / elapsed
            figures["server_cpu_percent"] = costs["server_cpu_us"] / 1e6 / elapsed * 100
            figures["answers_in_window"] = tracker.answers - answers
        tracker.check()
    finally:
        close_all(listeners)
    return figures


async def storm_run(target: Target, pop: Population, n: int, group_size: int, spread: float,
                    key: str) -> dict[str, Any]:
    """N clients come back within ``spread`` seconds, each on a new connection: the cursorless request,
    then a poll with its cursor. When all are waiting, one message per group; each must get it."""
    creator, users = await idle_setup(target, pop, n, group_size)
    users = users[:n]
    await wait_open_polls(target, 0, exact=True)
    tracker = Tracker()
    answered: list[float] = []
    listeners: list[Listener] = []
    errors: list[str] = []
    start = time.perf_counter() + 0.05

    async def client(index: int, member: Member) -> None:
        await asyncio.sleep(max(0.0, start + index * spread / n - time.perf_counter()))
        begun = time.perf_counter()
        try:
            listener = await Listener.connect(target.port, member, tracker, POLL_TIMEOUT)
        except (BenchError, OSError) as exc:
            errors.append(repr(exc))
            return
        answered.append(time.perf_counter() - begun)
        listeners.append(listener)

    try:
        await asyncio.gather(*(client(i, m) for i, m in enumerate(users)))
        all_answered_s = time.perf_counter() - start
        if len(listeners) == n:
            await wait_open_polls(target, n)
        by_group: dict[int, int] = defaultdict(int)
        for i in range(0, n, group_size):
            by_group[pop.groups[f"idle {i // group_size}"]] += len(users[i : i + group_size])
        conn = await open_member(target.port, creator)
        sent_at = time.perf_counter()
        waits = []
        try:
            for group_id, members in by_group.items():
                client_id = f"{pop.tag}-{key}-{group_id}"
                waits.append(tracker.expect(client_id, members).wait())
                await conn.request("POST", f"/api/groups/{group_id}/messages",
                                   {"text": "after the storm", "client_id": client_id}, expect=201)
        finally:
            conn.close()
        try:
            await asyncio.wait_for(asyncio.gather(*waits), DELIVERY_DEADLINE)
        except TimeoutError:
            errors.append(f"the messages after the storm reached {tracker.delivered_total} of {n} clients")
        delivered_s = time.perf_counter() - sent_at
        errors += tracker.errors
    finally:
        close_all(listeners)
    figures = latency_figures(answered) if len(answered) >= 2 else {}
    return {
        "n": n,
        "spread_s": spread,
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "all_answered_s": all_answered_s,
        **figures,
        "delivered_after_s": delivered_s,
    }


async def throughput_run(target: Target, pop: Population, senders: int, listeners_count: int, groups: int,
                         duration: float, key: str) -> dict[str, Any]:
    """``senders`` users send as fast as they are answered, each to the groups in turn, for ``duration``;
    ``listeners_count`` users in every group poll. Every message must reach every listener, in seq order."""
    members = await pop.members(target.port, "throughput", senders + listeners_count)
    group_ids = [await pop.group(target.port, f"throughput {g}", members[0], members) for g in range(groups)]
    await wait_open_polls(target, 0, exact=True)
    tracker = Tracker()
    listeners = await connect_all(target.ports, members[senders:], tracker)
    sent: list[dict[str, Any]] = []
    try:
        await wait_open_polls(target, listeners_count)
        await tracker.quiet()
        before = Usage.now(target)
        answers = tracker.answers
        stop_at = before.wall + duration

        async def send(index: int, member: Member) -> None:
            conn = await open_member(target.port, member)
            try:
                i = 0
                while time.perf_counter() < stop_at:
                    group_id = group_ids[(index + i) % groups]
                    client_id = f"{pop.tag}-{key}-{index}-{i}"
                    tracker.sent_at[client_id] = time.perf_counter()
                    answer = await conn.request("POST", f"/api/groups/{group_id}/messages",
                                                {"text": f"throughput {i}", "client_id": client_id}, expect=201)
                    sent.append(answer["message"])
                    i += 1
            finally:
                conn.close()

        await asyncio.gather(*(send(k, m) for k, m in enumerate(members[:senders])))
        sending_s = time.perf_counter() - before.wall
        expected = len(sent) * listeners_count
        drained_by = time.perf_counter() + DELIVERY_DEADLINE
        while tracker.delivered_total < expected and time.perf_counter() < drained_by and not tracker.errors:
            await asyncio.sleep(0.01)
        drain_s = time.perf_counter() - before.wall - sending_s
        await wait_open_polls(target, listeners_count)
        after = Usage.now(target)
        per_answer = tracker.delivered_total / max(1, tracker.answers - answers)
        tracker.check()
        if tracker.delivered_total < expected:
            raise BenchError(f"{tracker.delivered_total} of {expected} deliveries within {DELIVERY_DEADLINE:g} s")
        check_groups(sent, listeners)
    finally:
        close_all(listeners)
    latencies = [at - tracker.sent_at[m["client_id"]] for m in sent for at in tracker.receipts[m["client_id"]]]
    costs = before.per(after, expected)
    return {
        "senders": senders,
        "listeners": listeners_count,
        "groups": len(set(group_ids)),
        "sends": len(sent),
        "sends_per_s": len(sent) / sending_s,
        "deliveries": expected,
        "deliveries_per_s": expected / (sending_s + drain_s),
        **latency_figures(latencies),
        "drain_s": drain_s,
        "messages_per_answer": per_answer,
        "server_cpu_per_delivery_us": costs["server_cpu_us"],
        "db_cpu_per_delivery_us": costs["db_cpu_us"],
        "loadgen_cpu_per_delivery_us": costs["loadgen_cpu_us"],
        "statements_per_delivery": costs["statements"],
        "delivered_all": True,
    }


def check_groups(sent: list[dict[str, Any]], listeners: Sequence[Listener]) -> None:
    """Per group: the seqs the senders were given run without gaps, and every listener got exactly
    those messages, each once, in seq order."""
    by_group: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for message in sent:
        by_group[message["group_id"]].append(message)
    mine = {m["client_id"] for m in sent}
    for group_id, messages in by_group.items():
        messages.sort(key=lambda m: m["seq"])
        base = messages[0]["seq"] - 1
        want = rebased(messages, base)
        for listener in listeners:
            got = [m for m in listener.messages if m["group_id"] == group_id and m["client_id"] in mine]
            try:
                check_delivery(want, rebased(got, base))
            except BenchError as exc:
                raise BenchError(f"group {group_id}: {exc}") from None


async def hello_run(port: int, pid: int, connections: int, duration: float) -> dict[str, Any]:
    """``connections`` keep-alive connections asking GET /hello back to back for ``duration`` s."""
    conns = [await Connection.open(port) for _ in range(connections)]
    count = 0
    try:
        cpu, own, started = cpu_seconds(pid), own_cpu_seconds(), time.perf_counter()
        stop_at = started + duration

        async def ask(conn: Connection) -> None:
            nonlocal count
            while time.perf_counter() < stop_at:
                await conn.request("GET", "/hello")
                count += 1

        await asyncio.gather(*(ask(conn) for conn in conns))
        elapsed = time.perf_counter() - started
        cpu, own = cpu_seconds(pid) - cpu, own_cpu_seconds() - own
    finally:
        for conn in conns:
            conn.close()
    return {
        "connections": connections,
        "requests": count,
        "requests_per_s": count / elapsed,
        "server_cpu_per_request_us": cpu / count * 1e6,
        "loadgen_cpu_per_request_us": own / count * 1e6,
    }
