#!/usr/bin/env python3
"""Cross-process delivery: send-to-receive latency when sender and receiver are on different processes.

Why: scaled out, several run.py processes share MySQL and Redis, and a browser's
long poll may be parked on another process than the one its friend's message
was sent to. That message reaches it through Redis pub/sub (redis_notifier.py):
the sending process publishes it after the commit, the other one hears it, puts
it in its hub and wakes the poll; MySQL's 10-second resync is only a safety net.
The question is what that hop costs, against the same figure within one process,
measured side by side under the same machine conditions.

How: a private MariaDB (or a throwaway database on --database-url) and a private
``redis-server`` on a free port (or --redis-url); two ``run.py --redis-url``
processes on their own free ports, sharing the database, a cookie secret and a
var dir; both must report ``chat_redis_connected 1`` on /metrics before anything
is measured. User A sends every message to process 1. Two groups, each with A
and one receiving user: in "same process" its receiver polls process 1, in
"cross process" process 2. Each message is timed as in send_to_receive.py, whose
helpers this imports: the receiver's long poll is given PARK_DELAY to park, t0 is
taken just before A's POST, t1 when the poll's answer carrying the message has
been read. After a warm-up of each scenario (not counted), the scenarios take
turns in blocks of ``--block`` messages (A, B, A, B, ...) until each has
``--messages``, so that a drift of the machine's speed falls on both alike.

At the end each receiver must have got every message of its group exactly once,
in seq order, and process 2 must have heard through Redis at least as many
changes as messages were sent (else its polls were woken by the MySQL resync).

Run from the repository root: ``python bench/cross_process.py [--messages N]``.
Output: one JSON object on a line, then a table.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import platform
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pymysql  # noqa: E402
import redis  # noqa: E402
import tornado  # noqa: E402
from send_to_receive import (  # noqa: E402
    STARTUP_TIMEOUT,
    WARMUP_MESSAGES,
    BenchError,
    Connection,
    Receiver,
    add_common_arguments,
    bench_database,
    check_delivery,
    free_port,
    milliseconds,
    register,
    start_server,
    stop_server,
    tail,
    wait_healthy,
)

from tornado_chat.config import ConfigError  # noqa: E402
from tornado_chat.dbserver import DBServerError  # noqa: E402

log = logging.getLogger("bench")

SCENARIO = "cross_process"
SAME, CROSS = "same_process", "cross_process"
REDIS_STOP_TIMEOUT = 10.0


@dataclass
class Scenario:
    """One receiver's group and what was measured for it."""

    name: str
    group_id: int
    receiver: Receiver
    sent: list[dict[str, Any]] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)  # A's POST written -> the poll's answer read
    round_trips: list[float] = field(default_factory=list)  # A's POST written -> its 201 read
    after_send: list[float] = field(default_factory=list)  # A's 201 read -> the poll's answer read


def metric(port: int, name: str) -> float:
    """One sample's value from a process's /metrics (Prometheus text, not JSON, hence urllib)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    found = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
    if found is None:
        raise BenchError(f"{name} is not in process on port {port}'s /metrics: was it started with --redis-url?")
    return float(found.group(1))


async def wait_redis_connected(ports: list[int]) -> None:
    """/healthz can answer before the Redis listener has subscribed: wait for that too."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    for port in ports:
        while await asyncio.to_thread(metric, port, "chat_redis_connected") != 1:
            if time.monotonic() > deadline:
                raise BenchError(f"the process on port {port} did not connect to Redis in {STARTUP_TIMEOUT:g} s")
            await asyncio.sleep(0.1)


async def join(port: int, username: str, creator: Connection, name: str) -> tuple[Connection, int]:
    """A new user on ``port`` and a new group of ``creator``'s that this user has joined."""
    member = await register(port, username)
    group_id = (await creator.request("POST", "/api/groups", {"name": name}, expect=201))["group"]["id"]
    await member.request("PUT", f"/api/groups/{group_id}/membership")
    return member, group_id


async def send(alice: Connection, scenario: Scenario, client_id: str, counted: bool) -> None:
    body = {"text": f"bench message {client_id}", "client_id": client_id}
    await scenario.receiver.park()
    t0 = time.perf_counter()
    answer = await alice.request("POST", f"/api/groups/{scenario.group_id}/messages", body, expect=201)
    sent_at = time.perf_counter()
    try:
        received_at = await scenario.receiver.wait_for(client_id)
    except BenchError as exc:
        raise BenchError(f"{scenario.name}: {exc}") from None
    scenario.sent.append(answer["message"])
    if counted:
        scenario.latencies.append(received_at - t0)
        scenario.round_trips.append(sent_at - t0)
        scenario.after_send.append(received_at - sent_at)


async def measure(ports: tuple[int, int], count: int, block: int) -> tuple[list[Scenario], int]:
    """Both scenarios, interleaved in blocks; and how many changes process 2 heard through Redis meanwhile."""
    one, two = ports
    run = secrets.token_hex(4)
    alice = await register(one, f"bench_a_{run}")
    connections = [alice]
    scenarios: list[Scenario] = []
    try:
        for name, port in ((SAME, one), (CROSS, two)):
            member, group_id = await join(port, f"bench_{name[0]}_{run}", alice, f"bench {name} {run}")
            connections.append(member)
            cursor = (await member.request("GET", "/api/events"))["cursor"]
            scenarios.append(Scenario(name, group_id, Receiver(member, group_id, cursor)))
        heard_before = await asyncio.to_thread(metric, two, "chat_redis_changes_received")
        for scenario in scenarios:
            for i in range(WARMUP_MESSAGES):
                await send(alice, scenario, f"{run}-{scenario.name}-warmup-{i}", counted=False)
        log.info("warm-up done; %d messages per scenario in alternating blocks of %d", count, block)
        for start in range(0, count, block):
            for scenario in scenarios:
                for i in range(start, min(start + block, count)):
                    await send(alice, scenario, f"{run}-{scenario.name}-{i}", counted=True)
        for scenario in scenarios:
            await scenario.receiver.drain()
            try:
                check_delivery(scenario.sent, scenario.receiver.received)
            except BenchError as exc:
                raise BenchError(f"{scenario.name}: {exc}") from None
        heard = int(await asyncio.to_thread(metric, two, "chat_redis_changes_received") - heard_before)
        sent = sum(len(scenario.sent) for scenario in scenarios)
        if heard < sent:
            raise BenchError(
                f"process 2 heard only {heard} changes through Redis while {sent} messages were sent to process 1: "
                "the cross-process polls were woken by something else (the MySQL resync?)"
            )
        return scenarios, heard
    finally:
        for scenario in scenarios:
            scenario.receiver.close()
        for conn in connections:
            conn.close()


async def bench(
    servers: list[subprocess.Popen[bytes]], ports: tuple[int, int], count: int, block: int
) -> tuple[list[Scenario], int]:
    for server, port in zip(servers, ports, strict=True):
        await wait_healthy(server, port)
    await wait_redis_connected(list(ports))
    log.info("both processes healthy and listening to Redis")
    return await measure(ports, count, block)


def start_redis(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    """A private redis-server on a free port, without persistence; waits until it answers PING."""
    port = free_port()
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    command += ["--dir", str(workdir)]
    with (workdir / "redis.log").open("wb") as log_file:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log_file, stderr=log_file)
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        if process.poll() is not None:
            raise BenchError(f"redis-server exited with code {process.returncode}:\n{tail(workdir / 'redis.log')}")
        try:
            with redis.Redis.from_url(url, socket_connect_timeout=1) as client:
                client.ping()
            return process, url
        except redis.RedisError as exc:
            if time.monotonic() > deadline:
                raise BenchError(f"redis-server did not answer in {STARTUP_TIMEOUT:g} s: {exc}") from exc
        time.sleep(0.05)


def redis_version(url: str) -> str:
    with redis.Redis.from_url(url, socket_connect_timeout=5) as client:
        return str(client.info("server")["redis_version"])


def figures(scenario: Scenario) -> dict[str, float]:
    found = milliseconds(scenario.latencies)
    found["send_rtt_median_ms"] = statistics.median(scenario.round_trips) * 1000
    found["after_send_median_ms"] = statistics.median(scenario.after_send) * 1000
    return {name: round(value, 3) for name, value in found.items()}


def report(scenarios: list[Scenario], heard: int, block: int, redis_server: str) -> dict[str, Any]:
    same, cross = (figures(scenario) for scenario in scenarios)
    return {
        "scenario": SCENARIO,
        "n": len(scenarios[0].latencies),
        "block": block,
        SAME: same,
        CROSS: cross,
        "ratio_median": round(cross["median_ms"] / same["median_ms"], 3),
        "ratio_p99": round(cross["p99_ms"] / same["p99_ms"], 3),
        "redis_changes_heard_by_process_2": heard,
        "date": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "python": platform.python_version(),
        "tornado": tornado.version,
        "redis_server": redis_server,
        "redis_py": redis.__version__,
    }


def table(result: dict[str, Any]) -> str:
    same, cross = result[SAME], result[CROSS]
    title = (f"A sends to process 1 -> B's parked long poll, {result['n']} messages per scenario, "
             f"in alternating blocks of {result['block']}")
    lines = [title, f"  {'':<26}{'same process':>15}{'cross process':>15}{'cross/same':>12}"]
    for label, key in (
        ("median", "median_ms"), ("p90", "p90_ms"), ("p99", "p99_ms"), ("min", "min_ms"), ("max", "max_ms"),
        ("send round-trip, median", "send_rtt_median_ms"), ("after the 201, median", "after_send_median_ms"),
    ):
        ratio = {"median_ms": result["ratio_median"], "p99_ms": result["ratio_p99"]}.get(key)
        lines.append(f"  {label:<26}{same[key]:>12.2f} ms{cross[key]:>12.2f} ms"
                     + (f"{ratio:>12.2f}" if ratio is not None else ""))
    lines.append(f"process 2 heard {result['redis_changes_heard_by_process_2']} changes through Redis")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200,
                        help="messages measured per scenario, after the warm-up (default 200)")
    parser.add_argument("--block", type=int, default=20,
                        help="messages a scenario sends before the other takes its turn (default 20)")
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("CHAT_BENCH_REDIS_URL"),
        help="redis://host:port/db of a Redis that no other chat uses (env CHAT_BENCH_REDIS_URL). "
        "Default: a private redis-server on a free port",
    )
    add_common_arguments(parser)
    args = parser.parse_args(argv)
    if args.messages < 2:
        parser.error("--messages must be at least 2")
    if args.block < 1:
        parser.error("--block must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.json_only else logging.INFO, format="bench: %(message)s")
    workdir = Path(tempfile.mkdtemp(prefix="chat-bench-"))
    stack = contextlib.ExitStack()
    redis_server: subprocess.Popen[bytes] | None = None
    servers: list[subprocess.Popen[bytes]] = []
    try:
        url = stack.enter_context(bench_database(args.database_url, workdir))
        if args.redis_url:
            redis_url = args.redis_url
        else:
            log.info("starting a private redis-server")
            redis_server, redis_url = start_redis(workdir)
        version = redis_version(redis_url)
        ports = (free_port(), free_port())
        cookie_secret = secrets.token_hex(16)
        # One after the other: the first creates the database and its schema, which the second then finds.
        flags = ("--redis-url", redis_url, "--cookie-secret", cookie_secret)
        servers.append(start_server(workdir, ports[0], url, *flags))
        asyncio.run(wait_healthy(servers[0], ports[0]))
        servers.append(start_server(workdir, ports[1], url, *flags))
        scenarios, heard = asyncio.run(bench(servers, ports, args.messages, args.block))
    except (BenchError, ConfigError, DBServerError, pymysql.MySQLError, redis.RedisError, OSError) as exc:
        print(f"{SCENARIO}: {exc}", file=sys.stderr)
        for server_log in sorted(workdir.glob("server-*.log")):
            print(f"last lines of {server_log.name}:\n{tail(server_log)}", file=sys.stderr)
        return 1
    finally:
        for server in servers:
            stop_server(server)
        if redis_server is not None:
            redis_server.terminate()
            redis_server.wait(REDIS_STOP_TIMEOUT)
        stack.close()
        shutil.rmtree(workdir, ignore_errors=True)
    result = report(scenarios, heard, args.block, version)
    print(json.dumps(result), flush=True)
    if not args.json_only:
        print(table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
