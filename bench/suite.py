#!/usr/bin/env python3
"""The benchmark suite: tornado_chat against a bare Tornado long poll, scenario by scenario.

Why: absolute times drift on a shared 2-vCPU machine, ratios hold. Every figure is
measured for tornado_chat (run.py on a private MariaDB) and for the yardstick
(bench/baseline.py: demos/chat-sized, in memory, no auth), driven by the same load
generator (bench/loadgen.py), in turns within one run: yardstick, tornado_chat,
yardstick, tornado_chat, ...; each side's figure is the median of its runs.

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
YARD, CHAT = "yardstick", "tornado_chat"
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
              idle_ns=(500, 1000), idle_window=3.0, storm_n=200, duration=5.0, multiprocess_n=200)


# The processes


class Servers:
    """tornado_chat (one process, or two sharing Redis) and the yardstick, started and restarted on demand."""

    def __init__(self, workdir: Path, database_url: str, redis_url: str | None) -> None:
        self.workdir = workdir
        self.database_url = database_url
        self.redis_url = redis_url
        self.questions = Questions(database_url)
        self.db_pids = loadgen.children_named(("mariadbd", "mysqld"))
        self.chat_port, self.yard_port = free_port(), free_port()
        self.chat_procs: list[subprocess.Popen[bytes]] = []
        self.chat_ports: list[int] = []
        self.yard_proc: subprocess.Popen[bytes] | None = None
        self.redis_proc: subprocess.Popen[bytes] | None = None
        self.cookie_secret = secrets.token_hex(16)

    async def chat(self, fresh: bool = False) -> Target:
        """One run.py; ``fresh``: a new process (the database and its users stay)."""
        if fresh or len(self.chat_procs) != 1 or self.chat_procs[0].poll() is not None:
            self.stop_chat()
            proc = start_server(self.workdir, self.chat_port, self.database_url, "--cookie-secret", self.cookie_secret)
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
                self.chat_procs.append(start_server(self.workdir, port, self.database_url, *flags))
                await wait_healthy(self.chat_procs[-1], port)
            await wait_redis_connected(self.chat_ports)
        return Target(CHAT, list(self.chat_ports), [p.pid for p in self.chat_procs], self.questions, self.db_pids)

    async def yardstick(self, fresh: bool = False) -> Target:
        if fresh or self.yard_proc is None or self.yard_proc.poll() is not None:
            self.stop_yardstick()
            self.yard_proc = start_baseline(self.workdir, self.yard_port)
            await wait_healthy(self.yard_proc, self.yard_port)
        return Target(YARD, [self.yard_port], [self.yard_proc.pid])

    def stop_chat(self) -> None:
        for proc in self.chat_procs:
            stop_server(proc)
        self.chat_procs, self.chat_ports = [], []

    def stop_yardstick(self) -> None:
        if self.yard_proc is not None:
            stop_server(self.yard_proc)
            self.yard_proc = None

    def logs(self) -> str:
        return "\n".join(f"last lines of {path.name}:\n{tail(path)}" for path in sorted(self.workdir.glob("*.log")))

    def close(self) -> None:
        self.stop_chat()
        self.stop_yardstick()
        if self.redis_proc is not None:
            self.redis_proc.terminate()
            self.redis_proc.wait(10)
        self.questions.close()


def start_baseline(workdir: Path, port: int, *flags: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, str(BENCH / "baseline.py"), "--port", str(port), *flags]
    with (workdir / f"yardstick-{port}.log").open("wb") as log_file:
        return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file)


async def wait_hello(proc: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        if proc.poll() is not None:
            raise BenchError(f"baseline.py --hello-only exited with code {proc.returncode}")
        with contextlib.suppress(OSError, BenchError):
            conn = await Connection.open(port)
            try:
                await conn.request("GET", "/hello")
                return
            finally:
                conn.close()
        if time.monotonic() > deadline:
            raise BenchError("baseline.py --hello-only did not answer")
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


def compare(params: dict[str, Any], yard_runs: list[dict[str, Any]], chat_runs: list[dict[str, Any]]) -> dict:
    yard, chat = median_of(yard_runs), median_of(chat_runs)
    ratio = {}
    for key, value in chat.items():
        other = yard.get(key)
        if isinstance(value, int | float) and isinstance(other, int | float) and not isinstance(value, bool) and other:
            ratio[key] = value / other
    return {"params": params, YARD: {"runs": yard_runs, "median": yard}, CHAT: {"runs": chat_runs, "median": chat},
            "ratio": ratio}


async def turns(runs: int, yard: Callable[[int], Awaitable[dict]], chat: Callable[[int], Awaitable[dict]],
                label: str) -> tuple[list[dict], list[dict]]:
    """yardstick, tornado_chat, yardstick, tornado_chat, ..."""
    yard_runs, chat_runs = [], []
    for r in range(runs):
        log.info("%s: run %d of %d, yardstick", label, r + 1, runs)
        yard_runs.append(await yard(r))
        log.info("%s: run %d of %d, tornado_chat", label, r + 1, runs)
        chat_runs.append(await chat(r))
    return yard_runs, chat_runs


# The scenarios: each returns its JSON object (without the common fields)


class Suite:
    def __init__(self, servers: Servers, sizes: Sizes) -> None:
        self.servers = servers
        self.sizes = sizes
        tag = secrets.token_hex(2)
        self.pops = {YARD: Population(f"y{tag}"), CHAT: Population(f"c{tag}")}
        self.per_send: float | None = None
        self.per_change: float | None = None

    async def hello(self) -> dict[str, Any]:
        s = self.sizes
        port = free_port()
        proc = start_baseline(self.servers.workdir, port, "--hello-only")
        try:
            await wait_hello(proc, port)
            runs = []
            for _ in range(self.sizes.runs):
                runs.append(await loadgen.hello_run(port, proc.pid, s.hello_connections, s.hello_seconds))
        finally:
            stop_server(proc)
        return {"cases": [{"params": {"connections": s.hello_connections, "seconds": s.hello_seconds},
                           "bare_tornado": {"runs": runs, "median": median_of(runs)}}]}

    async def pingpong(self) -> dict[str, Any]:
        n = self.sizes.pingpong_messages

        async def yard(r: int) -> dict:
            return await loadgen.pingpong_run(await self.servers.yardstick(), self.pops[YARD], n, f"pingpong {r}")

        async def chat(r: int) -> dict:
            return await loadgen.pingpong_run(await self.servers.chat(), self.pops[CHAT], n, f"pingpong {r}")

        return {"cases": [compare({"messages": n}, *await turns(self.sizes.runs, yard, chat, "pingpong"))]}

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
        await loadgen.fanout_setup(await self.servers.yardstick(), self.pops[YARD], max(s.fanout_ns))
        await loadgen.fanout_setup(await self.servers.chat(), self.pops[CHAT], max(s.fanout_ns))
        per_send = await self.calibrate(await self.servers.chat())
        per_change = await self.calibrate_changes(await self.servers.chat())
        cases = []
        for n in s.fanout_ns:
            async def yard(r: int, n: int = n) -> dict:
                target = await self.servers.yardstick()
                return await loadgen.fanout_run(target, self.pops[YARD], n, s.fanout_messages, None, f"fo{n}-{r}")

            async def chat(r: int, n: int = n) -> dict:
                target = await self.servers.chat()
                return await loadgen.fanout_run(target, self.pops[CHAT], n, s.fanout_messages, per_send, f"fo{n}-{r}",
                                                s.fanout_changes, per_change)

            cases.append(compare({"n": n, "messages": s.fanout_messages, "changes": s.fanout_changes},
                                 *await turns(s.runs, yard, chat, f"fanout N={n}")))
        return {"cases": cases}

    async def idle(self) -> dict[str, Any]:
        s = self.sizes
        most = max(s.idle_ns)
        log.info("registering %d users in groups of %d on each side", most + 1, s.group_size)
        await loadgen.idle_setup(await self.servers.yardstick(), self.pops[YARD], most, s.group_size)
        await loadgen.idle_setup(await self.servers.chat(), self.pops[CHAT], most, s.group_size)
        cases = []
        for n in s.idle_ns:
            async def yard(r: int, n: int = n) -> dict:
                target = await self.servers.yardstick(fresh=True)
                return await loadgen.idle_run(target, self.pops[YARD], n, s.group_size, 0)

            async def chat(r: int, n: int = n) -> dict:
                target = await self.servers.chat(fresh=True)
                return await loadgen.idle_run(target, self.pops[CHAT], n, s.group_size, s.idle_window)

            cases.append(compare({"n": n, "group_size": s.group_size, "window_s": s.idle_window},
                                 *await turns(s.runs, yard, chat, f"idle N={n}")))
        return {"cases": cases}

    async def storm(self) -> dict[str, Any]:
        s = self.sizes

        async def yard(r: int) -> dict:
            target = await self.servers.yardstick()
            return await loadgen.storm_run(target, self.pops[YARD], s.storm_n, s.group_size, s.storm_spread, f"st{r}")

        async def chat(r: int) -> dict:
            target = await self.servers.chat()
            return await loadgen.storm_run(target, self.pops[CHAT], s.storm_n, s.group_size, s.storm_spread, f"st{r}")

        params = {"n": s.storm_n, "spread_s": s.storm_spread, "group_size": s.group_size}
        return {"cases": [compare(params, *await turns(s.runs, yard, chat, "storm"))]}

    async def throughput(self) -> dict[str, Any]:
        s = self.sizes

        async def run(target: Target, side: str, r: int) -> dict:
            return await loadgen.throughput_run(target, self.pops[side], s.senders, s.listeners, s.groups,
                                                s.duration, f"tp{r}")

        async def yard(r: int) -> dict:
            return await run(await self.servers.yardstick(), YARD, r)

        async def chat(r: int) -> dict:
            return await run(await self.servers.chat(), CHAT, r)

        params = {"senders": s.senders, "listeners": s.listeners, "groups": s.groups, "duration_s": s.duration}
        return {"cases": [compare(params, *await turns(s.runs, yard, chat, "throughput"))]}

    async def multiprocess(self) -> dict[str, Any]:
        s = self.sizes
        n = s.multiprocess_n
        await loadgen.fanout_setup(await self.servers.yardstick(), self.pops[YARD], n)
        await loadgen.fanout_setup(await self.servers.chat(), self.pops[CHAT], n)
        per_send = await self.calibrate(await self.servers.chat_pair())

        async def yard(r: int) -> dict:
            target = await self.servers.yardstick()
            return await loadgen.fanout_run(target, self.pops[YARD], n, s.fanout_messages, None, f"mp{r}")

        async def chat(r: int) -> dict:
            target = await self.servers.chat_pair()
            return await loadgen.fanout_run(target, self.pops[CHAT], n, s.fanout_messages, per_send, f"mp{r}")

        params = {"n": n, "messages": s.fanout_messages, "processes": 2}
        return {"cases": [compare(params, *await turns(s.runs, yard, chat, f"multiprocess N={n}"))]}


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
               ("max_ms", "max", "ms"), ("deliveries_per_s", "deliveries/s (with the re-polls)", "/s"),
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


def table(result: dict[str, Any]) -> str:
    name = result["scenario"]
    lines = [f"== {name}"]
    if "error" in result:
        return "\n".join([*lines, f"  ERROR: {result['error']}"])
    for case in result["cases"]:
        params = ", ".join(f"{k} {v}" for k, v in case["params"].items())
        if "bare_tornado" in case:
            lines.append(f"  bare Tornado, GET /hello, {params} ({len(case['bare_tornado']['runs'])} runs, median)")
            for key, label, unit in FIGURES[name]:
                lines.append(f"    {label:<40}{number(case['bare_tornado']['median'].get(key), unit):>14}")
            continue
        runs = len(case[CHAT]["runs"])
        lines.append(f"  {params} (median of {runs} runs each)")
        lines.append(f"    {'':<40}{'yardstick':>14}{'tornado_chat':>14}{'ratio':>8}")
        for key, label, unit in FIGURES[name]:
            yard, chat = case[YARD]["median"].get(key), case[CHAT]["median"].get(key)
            ratio = case["ratio"].get(key)
            lines.append(f"    {label:<40}{number(yard, unit):>14}{number(chat, unit):>14}"
                         f"{'' if ratio is None else f'{ratio:.2f}':>8}")
    return "\n".join(lines)


@dataclass(frozen=True)
class Goal:
    scenario: str
    label: str
    key: str
    kind: str  # "ratio<=", "ratio>=", "plus<=" (tornado_chat <= yardstick + limit), "abs<=", "abs=="
    limit: float
    near: int | None = None  # the case whose n is nearest this


GOALS = (
    Goal("fanout", "fan-out p50 (ms)", "p50_ms", "ratio<=", 1.2, 1000),
    Goal("fanout", "fan-out p99 (ms)", "p99_ms", "ratio<=", 1.3, 1000),
    Goal("fanout", "fan-out deliveries/s", "deliveries_per_s", "ratio>=", 0.85, 1000),
    Goal("fanout", "fan-out server CPU per delivery (us)", "server_cpu_per_delivery_us", "ratio<=", 1.3, 1000),
    Goal("pingpong", "pingpong p50 (ms)", "p50_ms", "plus<=", 3.0),
    Goal("idle", "idle: polls held by one process", "held", "abs>=", 10000, 10000),
    Goal("idle", "idle: RSS per held poll (KiB)", "rss_per_poll_kb", "ratio<=", 1.5, 10000),
    Goal("idle", "idle: database statements/s", "statements_per_s", "abs<=", 1.0, 5000),
    Goal("fanout", "statements per delivery to a waiting poll", "statements_per_waiting_delivery", "abs<=", 0.0,
         1000),
    Goal("fanout", "statements per change delivered to a waiting poll", "statements_per_waiting_change", "abs<=", 0.0,
         1000),
    Goal("throughput", "throughput: accepted sends/s", "sends_per_s", "ratio>=", 0.75),
    Goal("throughput", "throughput: every one delivered", "delivered_all", "abs==", 1),
    Goal("storm", "storm: errors", "errors", "abs<=", 0),
)


def judge(goal: Goal, results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    result = results.get(goal.scenario)
    row: dict[str, Any] = {"target": goal.label, "scenario": goal.scenario, "key": goal.key}
    if result is None or "error" in result:
        return {**row, "verdict": "ERROR" if result else "not run"}
    cases = result["cases"]
    case = cases[0] if goal.near is None else min(cases, key=lambda c: abs(c["params"]["n"] - goal.near))
    yard, chat, ratio = case[YARD]["median"].get(goal.key), case[CHAT]["median"].get(goal.key), None
    limit = goal.limit
    if goal.kind == "abs>=" and goal.key == "held":
        limit = case["params"]["n"]  # in a --quick run, as many as were asked for
    if chat is None:
        verdict = "n/a"
    elif goal.kind.startswith("ratio"):
        ratio = case["ratio"].get(goal.key)
        ok = ratio is not None and (ratio <= limit if goal.kind == "ratio<=" else ratio >= limit)
        verdict = "PASS" if ok else "MISS"
    elif goal.kind == "plus<=":
        verdict = "PASS" if chat <= yard + limit else "MISS"
    elif goal.kind == "abs<=":
        verdict = "PASS" if chat <= limit + 0.005 else "MISS"  # what prints as 0.00 is 0
    elif goal.kind == "abs>=":
        verdict = "PASS" if chat >= limit else "MISS"
    else:
        verdict = "PASS" if chat == limit else "MISS"
    want = {"ratio<=": f"<= {limit:g}x", "ratio>=": f">= {limit:g}x", "plus<=": f"<= yardstick + {limit:g}",
            "abs<=": f"<= {limit:g}", "abs>=": f">= {limit:g}", "abs==": "yes"}[goal.kind]
    where = f" (N={case['params']['n']})" if goal.near is not None else ""
    return {**row, "target": goal.label + where, YARD: yard, CHAT: chat, "ratio": ratio, "goal": want,
            "verdict": verdict}


def summary(results: dict[str, dict[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    rows = [judge(goal, results) for goal in GOALS]
    notes = []
    hello = results.get("hello")
    fanout = results.get("fanout")
    if hello and "error" not in hello:
        rps = hello["cases"][0]["bare_tornado"]["median"]["requests_per_s"]
        notes.append(f"bare Tornado hello world: {rps:,.0f} requests/s over keep-alive connections "
                     "(a delivery is an answer and a new poll: no long poll can deliver faster)")
        if fanout and "error" not in fanout:
            for case in fanout["cases"]:
                yard, chat = (case[side]["median"]["deliveries_per_s"] for side in (YARD, CHAT))
                notes.append(f"fan-out N={case['params']['n']}: yardstick {yard / rps:.0%}, "
                             f"tornado_chat {chat / rps:.0%} of that")
    return rows, notes


def summary_table(rows: list[dict[str, Any]], notes: list[str]) -> str:
    lines = ["== summary: tornado_chat against the yardstick (medians; ratio = tornado_chat / yardstick)",
             f"  {'target':<60}{'yardstick':>11}{'tornado_chat':>14}{'ratio':>8}  {'goal':<22}verdict"]
    for row in rows:
        ratio = row.get("ratio")
        lines.append(f"  {row['target']:<60}{number(row.get(YARD)):>11}{number(row.get(CHAT)):>14}"
                     f"{'' if ratio is None else f'{ratio:.2f}':>8}  {row.get('goal', ''):<22}{row['verdict']}")
    return "\n".join(lines + [f"  {note}" for note in notes])


def markdown(rows: list[dict[str, Any]]) -> str:
    """The summary as a Markdown table, for bench/README.md."""
    lines = ["| target | yardstick | tornado_chat | ratio | goal | |", "|---|---:|---:|---:|---|---|"]
    for row in rows:
        ratio = row.get("ratio")
        lines.append(f"| {row['target']} | {number(row.get(YARD))} | {number(row.get(CHAT))} | "
                     f"{'' if ratio is None else f'{ratio:.2f}'} | {row.get('goal', '')} | {row['verdict']} |")
    return "\n".join(lines)


# Running


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", default=",".join(SCENARIOS),
                        help=f"comma-separated, any of {', '.join(SCENARIOS)} (default: all, in that order)")
    parser.add_argument("--quick", action="store_true",
                        help="small N, short runs, one run per side: a smoke run of about two minutes")
    parser.add_argument("--runs", type=int, help="runs per side, taking turns (default 2; 1 with --quick)")
    parser.add_argument("--duration", type=float, help="seconds of sending in throughput (default 30; 5 with --quick)")
    parser.add_argument("--senders", type=int, help="throughput's senders (default 4)")
    parser.add_argument("--fanout-n", help="comma-separated listener counts of the fan-out (default 100,1000,2000)")
    parser.add_argument("--fanout-changes", type=int,
                        help="reactions toggled after the fan-out's messages, tornado_chat only (default 10)")
    parser.add_argument("--idle-n", help="comma-separated held-poll counts of idle (default 1000,5000,10000)")
    parser.add_argument("--markdown", action="store_true", help="also print the summary as a Markdown table")
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
        servers = Servers(workdir, url, args.redis_url)
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
