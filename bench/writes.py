#!/usr/bin/env python3
"""Write capacity: accepted sends per second and the sender's 201, side by side.

Why: every message is one transaction that commits before its 201, so what the database
costs per commit is what a sender waits and what bounds the service's writes. Two
questions need the same measurement, each on two or three sides in one run:

- ``--compare durability``: a private MariaDB with ``innodb_flush_log_at_trx_commit=2``
  (the redo log written at commit, flushed about once a second: an operating-system crash
  loses what was acknowledged in that second) against the durable default ``=1`` (flushed
  before the commit returns), with the redo log flushed by fsync (InnoDB's default) and
  opened with O_DSYNC (each write synchronous, no fsync after it). Concurrent commits share
  one flush (InnoDB's group commit); the run shows what is left of the cost.
- ``--compare cluster``: the durable single server against a three-node Galera cluster
  (tests/support/galera.py), with every process writing through one node, and with three
  processes each writing through its own node (the deployment in deploy/README.md). Writes
  to one group from several nodes conflict at certification and are run again by the service
  (the ``retried`` column, from the processes' /metrics). Here the three nodes share this
  machine's cores, so every write is applied three times on the same CPUs: a pessimistic
  figure for three machines.

How: each side has its database and its own run.py processes (no Redis: nothing is
delivered here, only stored). Users are registered and share ``--groups`` groups. Then two
phases per side, the sides taking turns ``--runs`` times so that they meet the same load on
a shared machine: *serial*, one sender sending ``--messages`` one at a time (the latency a
person sees on a quiet server); *concurrent*, ``--senders`` senders sending as fast as they
are answered for ``--duration`` seconds, spread over the groups (the capacity). Medians of
the runs are printed. A send answered 503 is sent again with its ``client_id``, as the page
does (counted in the ``503s`` column; its latency runs until its 201); the stored count must
equal the accepted count, each ``client_id`` once.

Run from the repository root: ``python bench/writes.py --compare durability`` (``--quick``
for a short run). Output: one JSON line, then a table.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pymysql

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from send_to_receive import (  # noqa: E402
    BenchError,
    Connection,
    UnexpectedStatus,
    common_fields,
    free_port,
    milliseconds,
    register,
    start_server,
    stop_server,
    wait_healthy,
)

from tornado_chat.config import DatabaseURL  # noqa: E402
from tornado_chat.dbserver import DBServerError, EmbeddedMariaDB  # noqa: E402

log = logging.getLogger("bench")

LAZY_FLUSH = ("--innodb-flush-log-at-trx-commit=2",)
# The redo log opened with O_DSYNC: each write is on disk when it returns, with no fsync after it.
DSYNC = ("--innodb-flush-method=O_DSYNC",)


@dataclass
class Side:
    """One way of storing: the run.py ports its senders use, in turn."""

    name: str
    ports: list[int]
    count_url: str  # where to count what was stored
    groups: list[int] = field(default_factory=list)
    senders: list[Connection] = field(default_factory=list)
    serial: list[dict[str, float]] = field(default_factory=list)
    concurrent: list[dict[str, float]] = field(default_factory=list)
    accepted: int = 0
    refused: int = 0  # 503s (sent again)


def stored_messages(url: str) -> tuple[int, int]:
    """(messages, distinct client ids) in the side's database."""
    parsed = DatabaseURL.parse(url)
    kwargs = parsed.connect_kwargs()
    kwargs["database"] = kwargs.pop("db")
    conn = pymysql.connect(**kwargs)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT COUNT(*), COUNT(DISTINCT group_id, user_id, client_id) FROM messages")
            total, distinct = cur.fetchone()
            return int(total), int(distinct)
    finally:
        conn.close()


async def prepare(side: Side, senders: int, groups: int) -> None:
    """Register the senders (spread over the side's ports) and their shared groups."""
    for i in range(senders):
        side.senders.append(await register(side.ports[i % len(side.ports)], f"w{side.name[:6]}{i}"))
    owner = side.senders[0]
    for g in range(groups):
        answer = await owner.request("POST", "/api/groups", {"name": f"writes {side.name} {g}"}, expect=201)
        group_id = answer["group"]["id"]
        side.groups.append(group_id)
        for conn in side.senders[1:]:
            await conn.request("PUT", f"/api/groups/{group_id}/membership")


async def send(side: Side, conn: Connection, group_id: int, client_id: str) -> float:
    """Seconds until the send was acknowledged: a 503 is sent again with its client_id, as the page does."""
    started = time.perf_counter()
    while True:
        try:
            await conn.request("POST", f"/api/groups/{group_id}/messages", {"text": client_id, "client_id": client_id},
                               expect=201)
            return time.perf_counter() - started
        except UnexpectedStatus as exc:
            if exc.status != 503:
                raise
            side.refused += 1


async def serial_phase(side: Side, run: int, messages: int) -> None:
    conn = side.senders[0]
    samples = [await send(side, conn, side.groups[0], f"s{run}-{i}") for i in range(messages)]
    side.accepted += messages
    side.serial.append(milliseconds(samples))


async def concurrent_phase(side: Side, run: int, duration: float) -> None:
    samples: list[float] = []
    stop_at = time.perf_counter() + duration

    async def sender(index: int, conn: Connection) -> None:
        i = 0
        while time.perf_counter() < stop_at:
            group_id = side.groups[(index + i) % len(side.groups)]
            samples.append(await send(side, conn, group_id, f"c{run}-{index}-{i}"))
            i += 1

    started = time.perf_counter()
    await asyncio.gather(*(sender(k, conn) for k, conn in enumerate(side.senders)))
    elapsed = time.perf_counter() - started
    side.accepted += len(samples)
    side.concurrent.append({"sends_per_s": len(samples) / elapsed, **milliseconds(samples)})


def conflicts_retried(ports: list[int]) -> int:
    """Transactions the side's processes ran again after losing a conflict (their /metrics)."""
    total = 0
    for port in ports:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
            found = re.search(rb"^chat_db_conflicts_retried_total (\S+)$", answer.read(), re.M)
        total += int(float(found[1])) if found else 0
    return total


def medians(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: round(statistics.median(run[key] for run in runs), 2) for key in runs[0]}


async def measure(sides: list[Side], args: argparse.Namespace) -> dict[str, Any]:
    for side in sides:
        await prepare(side, args.senders, args.groups)
    for run in range(args.runs):
        for side in sides:
            log.info("run %d, %s", run + 1, side.name)
            await serial_phase(side, run, args.messages)
            await concurrent_phase(side, run, args.duration)
    result: dict[str, Any] = {"scenario": f"writes_{args.compare}", **common_fields(), "runs": args.runs,
                              "senders": args.senders, "groups": args.groups, "duration_s": args.duration, "sides": {}}
    for side in sides:
        stored, distinct = stored_messages(side.count_url)
        if stored != side.accepted or distinct != stored:
            raise BenchError(f"{side.name}: {side.accepted} sends accepted, {stored} stored, {distinct} distinct")
        result["sides"][side.name] = {"serial": medians(side.serial), "concurrent": medians(side.concurrent),
                                      "stored": stored, "conflicts_retried": conflicts_retried(side.ports),
                                      "refused_503": side.refused}
        for conn in side.senders:
            conn.close()
    return result


def table(result: dict[str, Any]) -> str:
    rows = [f"{'side':<34} {'serial p50':>10} {'p99':>7} {'sends/s':>8} {'conc p50':>9} {'p99':>7} "
            f"{'retried':>8} {'503s':>5}"]
    for name, figures in result["sides"].items():
        serial, concurrent = figures["serial"], figures["concurrent"]
        rows.append(f"{name:<34} {serial['median_ms']:>8.2f}ms {serial['p99_ms']:>5.1f}ms "
                    f"{concurrent['sends_per_s']:>8.0f} {concurrent['median_ms']:>7.2f}ms "
                    f"{concurrent['p99_ms']:>5.1f}ms {figures['conflicts_retried']:>8} {figures['refused_503']:>5}")
    return "\n".join(rows)


@contextlib.contextmanager
def app_processes(workdir: Path, urls: list[str]) -> Iterator[list[int]]:
    """A run.py per URL, healthy; stopped on leaving."""
    started: list[subprocess.Popen[bytes]] = []
    ports: list[int] = []
    try:
        for url in urls:
            port = free_port()
            started.append(start_server(workdir, port, url))
            ports.append(port)
        for server, port in zip(started, ports, strict=True):
            asyncio.run(wait_healthy(server, port))
        yield ports
    finally:
        for server in started:
            stop_server(server)


@contextlib.contextmanager
def durability_sides(workdir: Path) -> Iterator[list[Side]]:
    with contextlib.ExitStack() as stack:
        sides = []
        for name, settings in (("trx_commit=2 (lazy flush)", LAZY_FLUSH), ("trx_commit=1 (durable)", ()),
                               ("trx_commit=1, O_DSYNC", DSYNC)):
            server = EmbeddedMariaDB(workdir / f"db-{len(sides)}", settings)
            server.start()
            stack.callback(server.stop)
            url = server.url("bench_writes")
            ports = stack.enter_context(app_processes(workdir, [url]))
            sides.append(Side(name, ports, url))
        yield sides


@contextlib.contextmanager
def cluster_sides(workdir: Path) -> Iterator[list[Side]]:
    from tests.support.galera import GaleraCluster

    with contextlib.ExitStack() as stack:
        single = EmbeddedMariaDB(workdir / "single")
        single.start()
        stack.callback(single.stop)
        single_url = single.url("bench_writes")
        cluster = GaleraCluster(workdir / "cluster")
        cluster.start()
        stack.callback(cluster.stop)
        order = [[0, 1, 2], [1, 2, 0], [2, 0, 1]]
        one_node = stack.enter_context(app_processes(workdir, [cluster.url("bench_one", order[0])] * 3))
        spread = stack.enter_context(app_processes(workdir, [cluster.url("bench_spread", o) for o in order]))
        yield [
            Side("single server", stack.enter_context(app_processes(workdir, [single_url] * 3)), single_url),
            Side("galera, every write on one node", one_node, cluster.node_url(0, "bench_one")),
            Side("galera, writes on all three nodes", spread, cluster.node_url(0, "bench_spread")),
        ]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare", choices=("durability", "cluster"), default="durability")
    parser.add_argument("--runs", type=int, default=3, help="turns per side (default 3; medians reported)")
    parser.add_argument("--messages", type=int, default=200, help="serial phase: messages sent one at a time")
    parser.add_argument("--senders", type=int, default=16, help="concurrent phase: senders (default 16)")
    parser.add_argument("--groups", type=int, default=8, help="groups the senders share (default 8)")
    parser.add_argument("--duration", type=float, default=10.0, help="concurrent phase: seconds (default 10)")
    parser.add_argument("--quick", action="store_true", help="1 run, 50 messages, 3 s")
    parser.add_argument("--json-only", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.messages, args.duration = 1, 50, 3.0
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.json_only else logging.INFO, format="bench: %(message)s")
    workdir = Path(tempfile.mkdtemp(prefix="chat-writes-"))
    sides_of = durability_sides if args.compare == "durability" else cluster_sides
    try:
        with sides_of(workdir) as sides:
            result = asyncio.run(measure(sides, args))
    except (BenchError, DBServerError, pymysql.MySQLError, OSError, RuntimeError) as exc:
        print(f"writes: {exc}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(result), flush=True)
    if not args.json_only:
        print(table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
