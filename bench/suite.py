#!/usr/bin/env python3
"""The benchmark suite: tornado_chat against a bare Tornado long poll, scenario by scenario.

Why: absolute times drift on a shared 2-vCPU machine, ratios hold. Every figure is
measured for tornado_chat (run.py on a private MariaDB) and for two yardsticks, driven
by the same load generator (bench/loadgen.py): the lean one (bench/baseline.py:
demos/chat-sized, in memory, no auth, no access log, each event encoded once), against
which the goals are judged, and the logged one (bench/baseline_logged.py: the same with
an access line per request and each answer encoded anew, the yardstick before issue 14),
whose ratio is shown for information. The three take turns within one run: yardstick,
logged yardstick, tornado_chat, yardstick, ...; each side's figure is the median of its runs.

Scenarios: hello (requests per second of a bare Tornado process: the ceiling),
pingpong, fanout, idle, storm, throughput, multiprocess. Each prints one JSON line
and a table; at the end a summary of the targets (PASS/MISS; a MISS does not fail
the run, a scenario that could not be measured, or whose deliveries were wrong, does).

Run from the repository root: ``python bench/suite.py [--quick] [--scenarios fanout,idle]``
(``make bench ARGS=...``). bench/README.md says what each figure means.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import logging
import os
import platform
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import loadgen  # noqa: E402
import pymysql  # noqa: E402
import redis  # noqa: E402
import tornado  # noqa: E402
from cross_process import start_redis, wait_redis_connected  # noqa: E402
from loadgen import Population, Questions, Target  # noqa: E402
from send_to_receive import (  # noqa: E402
    STARTUP_TIMEOUT,
    BenchError,
    Connection,
    add_common_arguments,
    bench_database,
    free_port,
    start_server,
    stop_server,
    tail,
    wait_healthy,
)

from tornado_chat.config import ConfigError  # noqa: E402
from tornado_chat.dbserver import DBServerError  # noqa: E402

log = logging.getLogger("bench")

BENCH = Path(__file__).resolve().parent
SCENARIOS = ("hello", "pingpong", "fanout", "idle", "storm", "throughput", "multiprocess")
# The sides, as named in the JSON; CHAT_ONE is one run.py beside multiprocess's two.
YARD, LOGGED, CHAT, CHAT_ONE = "yardstick", "yardstick_logged", "tornado_chat", "tornado_chat_one_process"
LABELS = {YARD: "yardstick", LOGGED: "yardstick, logged", CHAT: "tornado_chat", CHAT_ONE: "tornado_chat, 1 process"}
YARDSTICKS = {YARD: "baseline.py", LOGGED: "baseline_logged.py"}  # side -> its script in bench/
# Each case's ratios: name -> the side tornado_chat's figure is divided by.
RATIOS = {"ratio": YARD, "ratio_logged": LOGGED}
SCALE = {**RATIOS, "ratio_one_process": CHAT_ONE}  # multiprocess: tornado_chat is its two processes
HELLO = {YARD: "bare_tornado", LOGGED: "bare_tornado_logged"}  # hello's sides, as named in its JSON
FAILURES = (BenchError, OSError, pymysql.MySQLError, redis.RedisError, ConfigError, DBServerError, TimeoutError)


@dataclass(frozen=True)
class Sizes:
    runs: int = 2  # per side, taking turns
    hello_connections: int = 50
    hello_seconds: float = 5.0
    pingpong_messages: int = 200
    fanout_ns: tuple[int, ...] = (100, 1000, 2000)
    fanout_messages: int = 20
    fanout_changes: int = 10  # reactions toggled after the messages, tornado_chat only
    idle_ns: tuple[int, ...] = (1000, 5000, 10000)
    idle_window: float = 10.0
    group_size: int = 100
    storm_n: int = 1000
    storm_spread: float = 1.0
    senders: int = 4
    listeners: int = 20
    groups: int = 8
    duration: float = 30.0
    multiprocess_n: int = 1000


FULL = Sizes()
QUICK = Sizes(runs=1, hello_seconds=2.0, pingpong_messages=50, fanout_ns=(100, 300), fanout_messages=10,
              fanout_changes=5, idle_ns=(1000,), idle_window=3.0, storm_n=200, duration=3.0, multiprocess_n=200)


# The processes


class Servers:
    """tornado_chat (one process, or two sharing Redis) and the two yardsticks, started and restarted on demand."""

    def __init__(self, workdir: Path, database_url: str, redis_url: str | None, chat_root: Path) -> None:
        self.workdir = workdir
        self.chat_root = chat_root
        self.database_url = database_url
        self.redis_url = redis_url
        self.questions = Questions(database_url)
        self.db_pids = loadgen.children_named(("mariadbd", "mysqld"))
        self.chat_port = free_port()
        self.yard_ports = {side: free_port() for side in YARDSTICKS}
        self.chat_procs: list[subprocess.Popen[bytes]] = []
        self.chat_ports: list[int] = []
        self.yard_procs: dict[str, subprocess.Popen[bytes]] = {}
        self.redis_proc: subprocess.Popen[bytes] | None = None
        self.cookie_secret = secrets.token_hex(16)

    async def chat(self, fresh: bool = False) -> Target:
        """One run.py; ``fresh``: a new process (the database and its users stay)."""
        if fresh or len(self.chat_procs) != 1 or self.chat_procs[0].poll() is not None:
            self.stop_chat()
            proc = start_server(self.workdir, self.chat_port, self.database_url, "--cookie-secret", self.cookie_secret,
                                root=self.chat_root)
            self.chat_procs, self.chat_ports = [proc], [self.chat_port]
            await wait_healthy(proc, self.chat_port)
        return Target(CHAT, list(self.chat_ports), [p.pid for p in self.chat_procs], self.questions, self.db_pids)

    async def chat_pair(self) -> Target:
        """Two run.py sharing the database and a Redis (a private redis-server unless --redis-url)."""
        if len(self.chat_procs) != 2 or any(p.poll() is not None for p in self.chat_procs):
            self.stop_chat()
            if self.redis_url is None:
                self.redis_proc, self.redis_url = start_redis(self.workdir)
            flags = ("--redis-url", self.redis_url, "--cookie-secret", self.cookie_secret)
            self.chat_ports = [self.chat_port, free_port()]
            for port in self.chat_ports:
                self.chat_procs.append(start_server(self.workdir, port, self.database_url, *flags, root=self.chat_root))
                await wait_healthy(self.chat_procs[-1], port)
            await wait_redis_connected(self.chat_ports)
        return Target(CHAT, list(self.chat_ports), [p.pid for p in self.chat_procs], self.questions, self.db_pids)

    async def yardstick(self, side: str, fresh: bool = False) -> Target:
        """The lean (YARD) or the logged (LOGGED) yardstick; both may run at once, each on its port."""
        proc, port = self.yard_procs.get(side), self.yard_ports[side]
        if fresh or proc is None or proc.poll() is not None:
            self.stop_yardstick(side)
            proc = self.yard_procs[side] = start_baseline(self.workdir, port, YARDSTICKS[side])
            await wait_healthy(proc, port)
        return Target(LABELS[side], [port], [proc.pid])

    def stop_chat(self) -> None:
        for proc in self.chat_procs:
            stop_server(proc)
        self.chat_procs, self.chat_ports = [], []

    def stop_yardstick(self, side: str) -> None:
        proc = self.yard_procs.pop(side, None)
        if proc is not None:
            stop_server(proc)

    def logs(self) -> str:
        return "\n".join(f"last lines of {path.name}:\n{tail(path)}" for path in sorted(self.workdir.glob("*.log")))

    def close(self) -> None:
        self.stop_chat()
        for side in YARDSTICKS:
            self.stop_yardstick(side)
        if self.redis_proc is not None:
            self.redis_proc.terminate()
            self.redis_proc.wait(10)
        self.questions.close()


def start_baseline(workdir: Path, port: int, script: str, *flags: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, str(BENCH / script), "--port", str(port), *flags]
    with (workdir / f"{Path(script).stem}-{port}.log").open("wb") as log_file:
        return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file)


async def wait_hello(proc: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        if proc.poll() is not None:
            raise BenchError(f"{proc.args[1]} --hello-only exited with code {proc.returncode}")
        with contextlib.suppress(OSError, BenchError):
            conn = await Connection.open(port)
            try:
                await conn.request("GET", "/hello")
                return
            finally:
                conn.close()
        if time.monotonic() > deadline:
            raise BenchError(f"{proc.args[1]} --hello-only did not answer")
        await asyncio.sleep(0.1)


# Comparing


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Each figure's median over the runs (numbers only; the first run's value for the rest)."""
    found: dict[str, Any] = {}
    for key, value in runs[0].items():
        values = [run[key] for run in runs if isinstance(run.get(key), int | float) and not isinstance(run[key], bool)]
        if values and len(values) == len(runs):
            found[key] = statistics.median(values)
        elif isinstance(value, bool):
            found[key] = all(run.get(key) for run in runs)
        else:
            found[key] = value
    return found


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def compare(params: dict[str, Any], runs: dict[str, list[dict[str, Any]]],
            ratios: dict[str, str] = RATIOS) -> dict[str, Any]:
    """A case: each side's runs and medians, and for each of ``ratios`` (name -> side) tornado_chat's
    median divided by that side's, figure by figure."""
    case: dict[str, Any] = {"params": params}
    for side, side_runs in runs.items():
        case[side] = {"runs": side_runs, "median": median_of(side_runs)}
    chat = case[CHAT]["median"]
    for name, side in ratios.items():
        other = case[side]["median"]
        case[name] = {key: value / other[key] for key, value in chat.items()
                      if is_number(value) and is_number(other.get(key)) and other[key]}
    return case


async def turns(runs: int, sides: dict[str, Callable[[int], Awaitable[dict]]], label: str) -> dict[str, list[dict]]:
    """Each side's run in turn, ``runs`` times: yardstick, logged yardstick, tornado_chat, yardstick, ..."""
    found: dict[str, list[dict]] = {side: [] for side in sides}
    for r in range(runs):
        for side, run_one in sides.items():
            log.info("%s: run %d of %d, %s", label, r + 1, runs, LABELS[side])
            started = time.perf_counter()
            found[side].append(await run_one(r))
            log.info("%s: run %d of %d, %s, took %.1f s", label, r + 1, runs, LABELS[side],
                     time.perf_counter() - started)
    return found


def each_side(run_one: Callable[[str, int], Awaitable[dict]], sides: tuple[str, ...] = (YARD, LOGGED, CHAT),
              ) -> dict[str, Callable[[int], Awaitable[dict]]]:
    """``run_one(side, r)`` as turns() takes it, for each of ``sides``, in that order."""
    return {side: functools.partial(run_one, side) for side in sides}


# The scenarios: each returns its JSON object (without the common fields)


class Suite:
    def __init__(self, servers: Servers, sizes: Sizes) -> None:
        self.servers = servers
        self.sizes = sizes
        tag = secrets.token_hex(2)
        # One population per server: the yardsticks' users live in their own memory, tornado_chat's in the
        # database (one process or two).
        self.pops = {YARD: Population(f"y{tag}"), LOGGED: Population(f"l{tag}"), CHAT: Population(f"c{tag}")}
        self.pops[CHAT_ONE] = self.pops[CHAT]
        self.per_send: float | None = None
        self.per_change: float | None = None

    async def target(self, side: str, fresh: bool = False) -> Target:
        """A yardstick, or one tornado_chat process (``fresh``: a new process)."""
        return await (self.servers.yardstick(side, fresh) if side in YARDSTICKS else self.servers.chat(fresh))

    async def hello(self) -> dict[str, Any]:
        """Both yardsticks' processes, --hello-only, in turns: the bare ceiling, and with an access line."""
        s = self.sizes
        procs: dict[str, tuple[subprocess.Popen[bytes], int]] = {}
        try:
            for side, script in YARDSTICKS.items():
                port = free_port()
                procs[side] = (start_baseline(self.servers.workdir, port, script, "--hello-only"), port)
                await wait_hello(*procs[side])

            async def one(side: str, r: int) -> dict:
                proc, port = procs[side]
                return await loadgen.hello_run(port, proc.pid, s.hello_connections, s.hello_seconds)

            runs = await turns(s.runs, each_side(one, tuple(YARDSTICKS)), "hello")
        finally:
            for proc, _ in procs.values():
                stop_server(proc)
        return {"cases": [{"params": {"connections": s.hello_connections, "seconds": s.hello_seconds},
                           **{HELLO[side]: {"runs": runs[side], "median": median_of(runs[side])} for side in runs}}]}

    async def pingpong(self) -> dict[str, Any]:
        n = self.sizes.pingpong_messages

        async def one(side: str, r: int) -> dict:
            return await loadgen.pingpong_run(await self.target(side), self.pops[side], n, f"pingpong {r}")

        return {"cases": [compare({"messages": n}, await turns(self.sizes.runs, each_side(one), "pingpong"))]}

    async def calibrate(self, target: Target) -> float | None:
        self.per_send = await loadgen.send_statements(target, self.pops[CHAT])
        log.info("a send into a group where nobody waits makes %s database statements", self.per_send)
        return self.per_send

    async def calibrate_changes(self, target: Target) -> float | None:
        self.per_change = await loadgen.change_statements(target, self.pops[CHAT])
        log.info("a change to a message of a group where nobody waits makes %s database statements", self.per_change)
        return self.per_change

    async def fanout(self) -> dict[str, Any]:
        s = self.sizes
        log.info("registering %d users on each side", max(s.fanout_ns) + 1)
        for side in (YARD, LOGGED, CHAT):
            await loadgen.fanout_setup(await self.target(side), self.pops[side], max(s.fanout_ns))
        per_send = await self.calibrate(await self.servers.chat())
        per_change = await self.calibrate_changes(await self.servers.chat())
        cases = []
        for n in s.fanout_ns:
            async def one(side: str, r: int, n: int = n) -> dict:
                target = await self.target(side)
                if side in YARDSTICKS:  # no database, no reactions
                    return await loadgen.fanout_run(target, self.pops[side], n, s.fanout_messages, None, f"fo{n}-{r}")
                return await loadgen.fanout_run(target, self.pops[side], n, s.fanout_messages, per_send, f"fo{n}-{r}",
                                                s.fanout_changes, per_change)

            cases.append(compare({"n": n, "messages": s.fanout_messages, "changes": s.fanout_changes},
                                 await turns(s.runs, each_side(one), f"fanout N={n}")))
        return {"cases": cases}

    async def idle(self) -> dict[str, Any]:
        s = self.sizes
        most = max(s.idle_ns)
        log.info("registering %d users in groups of %d on each side", most + 1, s.group_size)
        for side in (YARD, LOGGED, CHAT):
            await loadgen.idle_setup(await self.target(side), self.pops[side], most, s.group_size)
        cases = []
        for n in s.idle_ns:
            async def one(side: str, r: int, n: int = n) -> dict:
                window = 0 if side in YARDSTICKS else s.idle_window  # statements/s: tornado_chat's alone
                return await loadgen.idle_run(await self.target(side, fresh=True), self.pops[side], n, s.group_size,
                                              window)

            cases.append(compare({"n": n, "group_size": s.group_size, "window_s": s.idle_window},
                                 await turns(s.runs, each_side(one), f"idle N={n}")))
        return {"cases": cases}

    async def storm(self) -> dict[str, Any]:
        s = self.sizes

        async def one(side: str, r: int) -> dict:
            return await loadgen.storm_run(await self.target(side), self.pops[side], s.storm_n, s.group_size,
                                           s.storm_spread, f"st{r}")

        params = {"n": s.storm_n, "spread_s": s.storm_spread, "group_size": s.group_size}
        return {"cases": [compare(params, await turns(s.runs, each_side(one), "storm"))]}

    async def throughput(self) -> dict[str, Any]:
        s = self.sizes

        async def one(side: str, r: int) -> dict:
            return await loadgen.throughput_run(await self.target(side), self.pops[side], s.senders, s.listeners,
                                                s.groups, s.duration, f"tp{r}")

        params = {"senders": s.senders, "listeners": s.listeners, "groups": s.groups, "duration_s": s.duration}
        return {"cases": [compare(params, await turns(s.runs, each_side(one), "throughput"))]}

    async def multiprocess(self) -> dict[str, Any]:
        """Fan-out at one N on two run.py sharing Redis (the CHAT side), beside one run.py (CHAT_ONE) and
        the two yardsticks, in turns. Switching between one process and two starts new processes, so
        each tornado_chat run has fresh ones."""
        s = self.sizes
        n = s.multiprocess_n
        for side in (YARD, LOGGED, CHAT):
            await loadgen.fanout_setup(await self.target(side), self.pops[side], n)
        per_send = {CHAT_ONE: await loadgen.send_statements(await self.servers.chat(), self.pops[CHAT])}

        async def one(side: str, r: int) -> dict:
            if side in YARDSTICKS:
                target = await self.servers.yardstick(side)
                return await loadgen.fanout_run(target, self.pops[side], n, s.fanout_messages, None, f"mp{r}")
            if side == CHAT_ONE:
                target = await self.servers.chat()
            else:
                target = await self.servers.chat_pair()
                if CHAT not in per_send:
                    per_send[CHAT] = await self.calibrate(target)
            # one database for both: each side's client_ids its own (a repeated one is the same message)
            key = f"mp{1 if side == CHAT_ONE else 2}-{r}"
            return await loadgen.fanout_run(target, self.pops[side], n, s.fanout_messages, per_send[side], key)

        params = {"n": n, "messages": s.fanout_messages, "processes": 2}
        runs = await turns(s.runs, each_side(one, (YARD, LOGGED, CHAT_ONE, CHAT)), f"multiprocess N={n}")
        return {"cases": [compare(params, runs, SCALE)]}


# Printing


FANOUT_CHANGES = [  # the fan-out's reactions toggled (tornado_chat only)
    ("change_p50_ms", "change -> each receipt p50", "ms"), ("change_p99_ms", "p99", "ms"),
    ("change_burst_deliveries_per_s", "changes delivered/s (change -> last)", "/s"),
    ("server_cpu_per_change_delivery_us", "server CPU per change delivered", "us"),
    ("statements_per_change", "statements of a change, nobody waiting", ""),
    ("statements_per_change_delivery", "database statements per change delivered", ""),
    ("statements_per_waiting_change", "... answering the waiting poll", ""),
]
FIGURES: dict[str, list[tuple[str, str, str]]] = {  # scenario -> (key, label, unit)
    "pingpong": [("p50_ms", "send -> receipt p50", "ms"), ("p90_ms", "p90", "ms"), ("p99_ms", "p99", "ms"),
                 ("max_ms", "max", "ms"), ("server_cpu_per_delivery_us", "server CPU per delivery", "us"),
                 ("db_cpu_per_delivery_us", "database CPU per delivery", "us"),
                 ("loadgen_cpu_per_delivery_us", "load generator CPU per delivery", "us"),
                 ("statements_per_delivery", "database statements per delivery", "")],
    "fanout": [("p50_ms", "send -> each receipt p50", "ms"), ("p90_ms", "p90", "ms"), ("p99_ms", "p99", "ms"),
               ("max_ms", "max", "ms"), ("complete_p50_ms", "send -> last receipt (complete) p50", "ms"),
               ("complete_max_ms", "max", "ms"), ("send_rtt_p50_ms", "sender's 201 p50", "ms"),
               ("deliveries_per_s", "deliveries/s (with the re-polls)", "/s"),
               ("burst_deliveries_per_s", "deliveries/s (send -> last receipt)", "/s"),
               ("server_cpu_per_delivery_us", "server CPU per delivery", "us"),
               ("db_cpu_per_delivery_us", "database CPU per delivery", "us"),
               ("loadgen_cpu_per_delivery_us", "load generator CPU per delivery", "us"),
               ("statements_per_delivery", "database statements per delivery", ""),
               ("statements_per_waiting_delivery", "... answering the waiting poll", ""),
               ("messages_per_answer", "messages per poll answer", ""),
               ("scrapes_per_message", "GET /metrics per message (CPU taken off)", ""),
               ("setup_s", "listeners connected and settled in", "s")],
    "idle": [("held", "polls held", ""), ("rss_before_mb", "RSS before", "MiB"), ("rss_mb", "RSS holding them", "MiB"),
             ("rss_per_poll_kb", "RSS per held poll", "KiB"), ("fds", "open fds", ""),
             ("statements_per_s", "database statements/s, idle", "/s"),
             ("server_cpu_percent", "server CPU, idle", "%"), ("answers_in_window", "poll answers, idle", ""),
             ("connect_s", "all connected in", "s")],
    "storm": [("errors", "errors", ""), ("all_answered_s", "all answered (from the first)", "s"),
              ("p50_ms", "cursorless answer p50", "ms"), ("p99_ms", "p99", "ms"), ("max_ms", "max", "ms"),
              ("delivered_after_s", "then a message to all in", "s")],
    "throughput": [("sends_per_s", "accepted sends/s", "/s"), ("sends", "sends", ""),
                   ("deliveries_per_s", "deliveries/s", "/s"), ("p50_ms", "send -> receipt p50", "ms"),
                   ("p99_ms", "p99", "ms"), ("drain_s", "delivered after the last send in", "s"),
                   ("messages_per_answer", "messages per poll answer", ""),
                   ("server_cpu_per_delivery_us", "server CPU per delivery", "us"),
                   ("db_cpu_per_delivery_us", "database CPU per delivery", "us"),
                   ("loadgen_cpu_per_delivery_us", "load generator CPU per delivery", "us"),
                   ("statements_per_delivery", "database statements per delivery", "")],
    "hello": [("requests_per_s", "requests/s", "/s"), ("server_cpu_per_request_us", "server CPU per request", "us"),
              ("loadgen_cpu_per_request_us", "load generator CPU per request", "us")],
}
FIGURES["multiprocess"] = list(FIGURES["fanout"])
FIGURES["fanout"] += FANOUT_CHANGES


def number(value: Any, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        text = f"{value:,}"
    elif abs(value) >= 1000:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.3g}" if unit == "" else f"{value:.2f}"
    return f"{text} {unit}".rstrip() if unit not in ("", "/s") else text + (unit if unit == "/s" else "")


COLUMNS = {YARD: "yardstick", LOGGED: "logged", CHAT_ONE: "1 process", CHAT: "tornado_chat"}  # in this order
RATIO_COLUMNS = {"ratio": "/yard", "ratio_logged": "/logged", "ratio_one_process": "/1 proc"}


def ratio_text(ratio: float | None) -> str:
    return "" if ratio is None else f"{ratio:.2f}"


def table(result: dict[str, Any]) -> str:
    name = result["scenario"]
    lines = [f"== {name}"]
    if "error" in result:
        return "\n".join([*lines, f"  ERROR: {result['error']}"])
    for case in result["cases"]:
        params = ", ".join(f"{k} {v}" for k, v in case["params"].items())
        if HELLO[YARD] in case:
            sides = [side for side in YARDSTICKS if HELLO[side] in case]
            runs = len(case[HELLO[YARD]]["runs"])
            lines.append(f"  bare Tornado, GET /hello, {params} (median of {runs} runs each)")
            lines.append(f"    {'':<40}" + "".join(f"{COLUMNS[side]:>14}" for side in sides))
            for key, label, unit in FIGURES[name]:
                lines.append(f"    {label:<40}" + "".join(f"{number(case[HELLO[side]]['median'].get(key), unit):>14}"
                                                        for side in sides))
            continue
        sides = [side for side in COLUMNS if side in case]
        ratios = [ratio for ratio in RATIO_COLUMNS if ratio in case]
        lines.append(f"  {params} (median of {len(case[CHAT]['runs'])} runs each; "
                     f"/yard, /logged: tornado_chat / each yardstick"
                     f"{', /1 proc: 2 processes / 1' if 'ratio_one_process' in case else ''})")
        lines.append(f"    {'':<40}" + "".join(f"{COLUMNS[side]:>14}" for side in sides)
                     + "".join(f"{RATIO_COLUMNS[ratio]:>9}" for ratio in ratios))
        for key, label, unit in FIGURES[name]:
            lines.append(f"    {label:<40}" + "".join(f"{number(case[side]['median'].get(key), unit):>14}"
                                                    for side in sides)
                         + "".join(f"{ratio_text(case[ratio].get(key)):>9}" for ratio in ratios))
    return "\n".join(lines)


@dataclass(frozen=True)
class Goal:
    scenario: str
    label: str
    key: str
    kind: str  # "ratio<=", "ratio>=", "plus<=" (tornado_chat <= yardstick + limit), "abs<=", "abs>=", "abs==",
    #            "info" (reported, not judged)
    limit: float = 0.0
    near: int | None = None  # the case whose n is nearest this
    ratio: str = "ratio"  # which of the case's ratios a ratio goal judges (and whose side is the reference)


# Judged against the lean yardstick (issue 14); the logged yardstick's ratio is shown beside for information.
FANOUT_RATIOS = (  # fan-out figures with a ratio goal at N=1000: (label, key, kind, limit)
    ("fan-out p50 (ms)", "p50_ms", "ratio<=", 1.3),
    ("fan-out p99 (ms)", "p99_ms", "ratio<=", 1.2),
    ("fan-out complete p50 (ms)", "complete_p50_ms", "ratio<=", 1.3),
    ("fan-out deliveries/s", "deliveries_per_s", "ratio>=", 0.8),
    ("fan-out server CPU per delivery (us)", "server_cpu_per_delivery_us", "ratio<=", 1.15),
)
GOALS = (
    *(Goal("fanout", label, key, kind, limit, 1000) for label, key, kind, limit in FANOUT_RATIOS),
    Goal("fanout", "fan-out sender's 201 p50 (ms)", "send_rtt_p50_ms", "plus<=", 1.5, 1000),
    Goal("pingpong", "pingpong p50 (ms)", "p50_ms", "plus<=", 3.0),
    Goal("idle", "idle: polls held by one process", "held", "abs>=", 10000, 10000),
    Goal("idle", "idle: RSS per held poll (KiB)", "rss_per_poll_kb", "ratio<=", 1.3, 10000),
    Goal("idle", "idle: database statements/s", "statements_per_s", "abs<=", 1.0, 5000),
    Goal("fanout", "statements per delivery to a waiting poll", "statements_per_waiting_delivery", "abs<=", 0.0,
         1000),
    Goal("fanout", "statements per change delivered to a waiting poll", "statements_per_waiting_change", "abs<=", 0.0,
         1000),
    Goal("throughput", "throughput: accepted sends/s", "sends_per_s", "ratio>=", 0.75),
    Goal("throughput", "throughput: every one delivered", "delivered_all", "abs==", 1),
    Goal("storm", "storm: errors", "errors", "abs<=", 0),
    Goal("multiprocess", "multiprocess: deliveries/s, 2 processes / 1", "deliveries_per_s", "ratio>=", 1.5, 1000,
         ratio="ratio_one_process"),
)


def reported(results: dict[str, dict[str, Any]]) -> tuple[Goal, ...]:
    """The fan-out's ratio figures at the sizes whose case no goal judges (N=100 and 2000): for information."""
    fanout = results.get("fanout")
    if not fanout or "error" in fanout:
        return ()
    judged = min((c["params"]["n"] for c in fanout["cases"]), key=lambda n: abs(n - 1000))
    return tuple(Goal("fanout", label, key, "info", 0.0, case["params"]["n"])
                 for case in fanout["cases"] if case["params"]["n"] != judged
                 for label, key, _, _ in FANOUT_RATIOS)


def judge(goal: Goal, results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    result = results.get(goal.scenario)
    row: dict[str, Any] = {"target": goal.label, "scenario": goal.scenario, "key": goal.key}
    if result is None or "error" in result:
        return {**row, "verdict": "ERROR" if result else "not run"}
    cases = result["cases"]
    case = cases[0] if goal.near is None else min(cases, key=lambda c: abs(c["params"]["n"] - goal.near))
    against = SCALE[goal.ratio]  # the reference side: the lean yardstick but for multiprocess's 2 / 1
    reference, chat = case[against]["median"].get(goal.key), case[CHAT]["median"].get(goal.key)
    shows_ratio = goal.kind.startswith("ratio") or goal.kind == "info"
    ratio = case[goal.ratio].get(goal.key) if shows_ratio else None
    logged = case["ratio_logged"].get(goal.key) if shows_ratio and goal.ratio == "ratio" else None
    limit = goal.limit
    if goal.kind == "abs>=" and goal.key == "held":
        limit = case["params"]["n"]  # in a --quick run, as many as were asked for
    if chat is None:
        verdict = "n/a"
    elif goal.kind == "info":
        verdict = "info"
    elif goal.kind.startswith("ratio"):
        ok = ratio is not None and (ratio <= limit if goal.kind == "ratio<=" else ratio >= limit)
        verdict = "PASS" if ok else "MISS"
    elif goal.kind == "plus<=":
        verdict = "PASS" if chat <= reference + limit else "MISS"
    elif goal.kind == "abs<=":
        verdict = "PASS" if chat <= limit + 0.005 else "MISS"  # what prints as 0.00 is 0
    elif goal.kind == "abs>=":
        verdict = "PASS" if chat >= limit else "MISS"
    else:
        verdict = "PASS" if chat == limit else "MISS"
    want = {"ratio<=": f"<= {limit:g}x", "ratio>=": f">= {limit:g}x", "plus<=": f"<= yardstick + {limit:g}",
            "abs<=": f"<= {limit:g}", "abs>=": f">= {limit:g}", "abs==": "yes", "info": ""}[goal.kind]
    if goal.ratio != "ratio":
        want += " one process"
    where = f" (N={case['params']['n']})" if goal.near is not None else ""
    return {**row, "target": goal.label + where, "against": against, "reference": reference, CHAT: chat,
            "ratio": ratio, "ratio_logged": logged, "goal": want, "verdict": verdict}


def summary(results: dict[str, dict[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    rows = [judge(goal, results) for goal in (*GOALS, *reported(results))]
    notes = []
    hello = results.get("hello")
    fanout = results.get("fanout")
    if hello and "error" not in hello:
        rps = {side: hello["cases"][0][HELLO[side]]["median"]["requests_per_s"] for side in YARDSTICKS}
        notes.append(f"bare Tornado hello world: {rps[YARD]:,.0f} requests/s over keep-alive connections, "
                     f"{rps[LOGGED]:,.0f} with an access line each "
                     "(a delivery is an answer and a new poll: no long poll can deliver faster)")
        if fanout and "error" not in fanout:
            for case in fanout["cases"]:
                rates = {side: case[side]["median"]["deliveries_per_s"] / rps[YARD] for side in (YARD, LOGGED, CHAT)}
                notes.append(f"fan-out N={case['params']['n']}: yardstick {rates[YARD]:.0%}, logged yardstick "
                             f"{rates[LOGGED]:.0%}, tornado_chat {rates[CHAT]:.0%} of that")
    multiprocess = results.get("multiprocess")
    if multiprocess and "error" not in multiprocess:
        case = multiprocess["cases"][0]
        rates = {side: case[side]["median"]["deliveries_per_s"] for side in (YARD, CHAT_ONE, CHAT)}
        notes.append(f"multiprocess N={case['params']['n']}: deliveries/s {rates[CHAT]:,.0f} on 2 processes, "
                     f"{rates[CHAT_ONE]:,.0f} on 1 (its row's reference), the yardstick's {rates[YARD]:,.0f}")
    return rows, notes


def summary_table(rows: list[dict[str, Any]], notes: list[str]) -> str:
    lines = ["== summary: tornado_chat against the lean yardstick (medians; ratio = tornado_chat / yardstick; "
             "/logged = tornado_chat / the logged yardstick, for information; multiprocess: 2 processes against 1)",
             f"  {'target':<60}{'yardstick':>11}{'tornado_chat':>14}{'ratio':>8}{'/logged':>9}  {'goal':<24}verdict"]
    for row in rows:
        lines.append(f"  {row['target']:<60}{number(row.get('reference')):>11}{number(row.get(CHAT)):>14}"
                     f"{ratio_text(row.get('ratio')):>8}{ratio_text(row.get('ratio_logged')):>9}  "
                     f"{row.get('goal', ''):<24}{row['verdict']}")
    return "\n".join(lines + [f"  {note}" for note in notes])


def markdown(rows: list[dict[str, Any]]) -> str:
    """The summary as a Markdown table, for bench/README.md."""
    lines = ["| target | yardstick | tornado_chat | ratio | vs logged | goal | |", "|---|---:|---:|---:|---:|---|---|"]
    for row in rows:
        lines.append(f"| {row['target']} | {number(row.get('reference'))} | {number(row.get(CHAT))} | "
                     f"{ratio_text(row.get('ratio'))} | {ratio_text(row.get('ratio_logged'))} | "
                     f"{row.get('goal', '')} | {row['verdict']} |")
    return "\n".join(lines)


# Running


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", default=",".join(SCENARIOS),
                        help=f"comma-separated, any of {', '.join(SCENARIOS)} (default: all, in that order)")
    parser.add_argument("--quick", action="store_true",
                        help="small N, short runs, one run per side: a smoke run of two to three minutes")
    parser.add_argument("--runs", type=int, help="runs per side, taking turns (default 2; 1 with --quick)")
    parser.add_argument("--duration", type=float, help="seconds of sending in throughput (default 30; 3 with --quick)")
    parser.add_argument("--senders", type=int, help="throughput's senders (default 4)")
    parser.add_argument("--fanout-n", help="comma-separated listener counts of the fan-out "
                        "(default 100,1000,2000; 100,300 with --quick)")
    parser.add_argument("--fanout-changes", type=int, help="reactions toggled after the fan-out's messages, "
                        "tornado_chat only (default 10; 5 with --quick)")
    parser.add_argument("--idle-n", help="comma-separated held-poll counts of idle "
                        "(default 1000,5000,10000; 1000 with --quick)")
    parser.add_argument("--markdown", action="store_true", help="also print the summary as a Markdown table")
    parser.add_argument("--chat-root", default=str(BENCH.parent),
                        help="the checkout whose run.py is tornado_chat (default: this one); another commit's "
                        "worktree measures that commit with this suite, for a before/after")
    parser.add_argument(
        "--redis-url", default=os.environ.get("CHAT_BENCH_REDIS_URL"),
        help="redis://host:port/db for multiprocess, used by no other chat (env CHAT_BENCH_REDIS_URL). "
        "Default: a private redis-server on a free port",
    )
    add_common_arguments(parser)
    args = parser.parse_args(argv)
    chosen = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = set(chosen) - set(SCENARIOS)
    if unknown or not chosen:
        parser.error(f"unknown scenarios {sorted(unknown)}; choose from {', '.join(SCENARIOS)}")
    args.chosen = [s for s in SCENARIOS if s in chosen]
    sizes = QUICK if args.quick else FULL
    changes: dict[str, Any] = {}
    for name, attr in (("runs", "runs"), ("duration", "duration"), ("senders", "senders"),
                       ("fanout_changes", "fanout_changes")):
        if getattr(args, name) is not None:
            changes[attr] = getattr(args, name)
    for option, attr in ((args.fanout_n, "fanout_ns"), (args.idle_n, "idle_ns")):
        if option:
            changes[attr] = tuple(int(v) for v in option.split(","))
    args.sizes = replace(sizes, **changes)
    if args.sizes.runs < 1:
        parser.error("--runs must be at least 1")
    if args.sizes.fanout_changes < 0:
        parser.error("--fanout-changes must be at least 0")
    return args


def common_fields() -> dict[str, Any]:
    return {"date": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "python": platform.python_version(), "tornado": tornado.version, "cpus": os.cpu_count()}


async def run(args: argparse.Namespace, servers: Servers) -> dict[str, dict[str, Any]]:
    suite = Suite(servers, args.sizes)
    results: dict[str, dict[str, Any]] = {}
    for name in args.chosen:
        started = time.perf_counter()
        log.info("scenario %s", name)
        try:
            result = {"scenario": name, **await getattr(suite, name)()}
        except FAILURES as exc:
            log.error("%s failed: %s\n%s", name, exc, servers.logs())
            result = {"scenario": name, "error": str(exc) or repr(exc)}
        result["elapsed_s"] = round(time.perf_counter() - started, 1)
        result.update(common_fields())
        results[name] = result
        print(json.dumps(result), flush=True)
        if not args.json_only:
            print(table(result), flush=True)
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.json_only else logging.INFO, format="bench: %(message)s")
    limit = loadgen.raise_fd_limit()
    log.info("open files limit %d (the servers inherit it)", limit)
    started = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="chat-suite-"))
    stack = contextlib.ExitStack()
    try:
        url = stack.enter_context(bench_database(args.database_url, workdir))
        servers = Servers(workdir, url, args.redis_url, Path(args.chat_root).resolve())
        stack.callback(servers.close)
        results = asyncio.run(run(args, servers))
    except FAILURES as exc:
        print(f"suite: {exc}", file=sys.stderr)
        return 1
    finally:
        stack.close()
        shutil.rmtree(workdir, ignore_errors=True)
    rows, notes = summary(results)
    elapsed = time.perf_counter() - started
    print(json.dumps({"scenario": "summary", "targets": rows, "notes": notes, "elapsed_s": round(elapsed, 1),
                      "sizes": asdict(args.sizes), **common_fields()}), flush=True)
    if not args.json_only:
        print(summary_table(rows, notes))
        print(f"suite took {elapsed:.0f} s")
    if args.markdown:
        print(markdown(rows))
    return 1 if any("error" in result for result in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
