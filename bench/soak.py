#!/usr/bin/env python3
"""The soak: 300 clients polling for 10 minutes, one message a second among them.

Why: what a short benchmark cannot see shows over time: a delivery lost or doubled
once in thousands, memory or open files that creep up with every poll answered
and every connection reused. So this holds a steady, modest load on one run.py and
watches the process from outside.

How: a private MariaDB (or a throwaway database on --database-url) and run.py as its
own process, as in send_to_receive.py; N users (--clients) in groups of --group-size,
each with one keep-alive connection holding its long poll (bench/loadgen.py's
Listener, 60 s polls answered by news or by their timeout). Once a second (--rate)
one of them, in turn, sends a message with a fresh client_id to one of its groups on
a connection of its own. Every 10 s the server's VmRSS, its open files, its database
pool size and open polls are sampled. At the end, each client must have received
every message of its group exactly once, in seq order; the deliveries lost,
duplicated and out of order are counted (any of them, or a failed client, exits 1).

Run from the repository root: ``python bench/soak.py [--minutes 10]``.
Output: one JSON object on a line, then a table. bench/README.md has the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import platform
import secrets
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import loadgen  # noqa: E402
import tornado  # noqa: E402
from cross_process import metric  # noqa: E402
from loadgen import CONNECT_CONCURRENCY, Listener, Member, Population, Tracker, latency_figures  # noqa: E402
from send_to_receive import (  # noqa: E402
    Connection,
    add_common_arguments,
    run_against_one_server,
    wait_healthy,
)

log = logging.getLogger("bench")

SAMPLE_EVERY = 10.0  # seconds between samples of the server process
DRAIN_LIMIT = 30.0  # seconds after the last send for every delivery to arrive


def sample(port: int, pid: int, started: float, delivered: int) -> dict[str, float]:
    return {
        "t_s": round(time.perf_counter() - started, 1),
        "rss_mb": round(loadgen.rss_bytes(pid) / 2**20, 2),
        "fds": loadgen.open_fds(pid),
        "pool": metric(port, "chat_db_pool_size"),
        "open_polls": metric(port, "chat_open_polls"),
        "delivered": delivered,
    }


def tally(sent: list[dict[str, Any]], members_of: dict[int, list[int]], listeners: dict[int, Listener]) -> dict:
    """Per client: the messages of its groups it should have, against what it got."""
    expected = lost = duplicated = out_of_order = 0
    by_group: dict[int, set[str]] = defaultdict(set)
    for message in sent:
        by_group[message["group_id"]].add(message["client_id"])
    for group_id, client_ids in by_group.items():
        for user_id in members_of[group_id]:
            got = [m for m in listeners[user_id].messages if m["group_id"] == group_id and m["client_id"] in client_ids]
            counts = Counter(m["client_id"] for m in got)
            expected += len(client_ids)
            lost += len(client_ids - counts.keys())
            duplicated += sum(n - 1 for n in counts.values())
            seqs = [m["seq"] for m in got]
            out_of_order += sum(1 for a, b in zip(seqs, seqs[1:], strict=False) if b <= a)
    return {"expected": expected, "lost": lost, "duplicated": duplicated, "out_of_order": out_of_order}


async def soak(port: int, pid: int, args: argparse.Namespace) -> dict[str, Any]:
    pop = Population(f"k{secrets.token_hex(3)}")
    members = await pop.members(port, "soak", args.clients)
    members_of: dict[int, list[int]] = {}
    group_of: dict[int, int] = {}
    for start in range(0, args.clients, args.group_size):
        crew = members[start : start + args.group_size]
        group_id = await pop.group(port, f"soak {start}", crew[0], crew)
        members_of[group_id] = [m.id for m in crew]
        group_of.update((m.id, group_id) for m in crew)
    tracker = Tracker()
    listeners: dict[int, Listener] = {}
    for start in range(0, len(members), CONNECT_CONCURRENCY):
        batch = members[start : start + CONNECT_CONCURRENCY]
        connected = await asyncio.gather(*(Listener.connect(port, m, tracker) for m in batch))
        listeners.update((m.id, listener) for m, listener in zip(batch, connected, strict=True))
    sender = await Connection.open(port)
    sent: list[dict[str, Any]] = []
    samples: list[dict[str, float]] = []
    try:
        await tracker.quiet()
        started = time.perf_counter()
        samples.append(sample(port, pid, started, tracker.delivered_total))
        count = int(args.minutes * 60 * args.rate)
        next_sample = started + SAMPLE_EVERY + 0.5 / args.rate  # between two sends, not just after one
        for i in range(count):
            due = started + i / args.rate
            while (now := time.perf_counter()) < due:
                if now >= next_sample:
                    samples.append(sample(port, pid, started, tracker.delivered_total))
                    next_sample += SAMPLE_EVERY
                    log.info("%.0f s: %s", now - started, samples[-1])
                await asyncio.sleep(min(due, next_sample) - now)
            member: Member = members[i % len(members)]
            client_id = f"{pop.tag}-{i}"
            sender.token = member.token
            tracker.sent_at[client_id] = time.perf_counter()
            answer = await sender.request("POST", f"/api/groups/{group_of[member.id]}/messages",
                                          {"text": f"soak {i}", "client_id": client_id}, expect=201)
            sent.append(answer["message"])
            tracker.check()
        expected = sum(len(members_of[m["group_id"]]) for m in sent)
        drained_by = time.perf_counter() + DRAIN_LIMIT
        while tracker.delivered_total < expected and time.perf_counter() < drained_by and not tracker.errors:
            await asyncio.sleep(0.05)
        samples.append(sample(port, pid, started, tracker.delivered_total))
        tracker.check()
        counts = tally(sent, members_of, listeners)
    finally:
        sender.close()
        loadgen.close_all(listeners.values())
    latencies = [at - tracker.sent_at[m["client_id"]] for m in sent for at in tracker.receipts[m["client_id"]]]
    rss = [s["rss_mb"] for s in samples]
    fds = [s["fds"] for s in samples]
    return {
        "scenario": "soak",
        "minutes": args.minutes,
        "clients": args.clients,
        "groups": len(members_of),
        "messages": len(sent),
        "deliveries_expected": counts["expected"],
        "deliveries": tracker.delivered_total,
        "lost": counts["lost"],
        "duplicated": counts["duplicated"],
        "out_of_order": counts["out_of_order"],
        **{k: round(v, 2) for k, v in latency_figures(latencies).items()},
        "rss_first_mb": rss[0],
        "rss_last_mb": rss[-1],
        "rss_max_mb": max(rss),
        "rss_median_mb": statistics.median(rss),
        "fds_first": fds[0],
        "fds_last": fds[-1],
        "fds_max": max(fds),
        "pool_last": samples[-1]["pool"],
        "samples": len(samples),
        "rss_mb_series": rss,
        "fds_series": fds,
        "date": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "python": platform.python_version(),
        "tornado": tornado.version,
    }


def table(result: dict[str, Any]) -> str:
    rows = [
        ("clients / groups", f"{result['clients']} / {result['groups']}"),
        ("messages sent", f"{result['messages']} over {result['minutes']:g} min"),
        ("deliveries", f"{result['deliveries']} of {result['deliveries_expected']}"),
        ("lost / duplicated / out of order", f"{result['lost']} / {result['duplicated']} / {result['out_of_order']}"),
        ("latency p50 / p99 / max", f"{result['p50_ms']:.2f} / {result['p99_ms']:.2f} / {result['max_ms']:.2f} ms"),
        ("RSS first / last / max", f"{result['rss_first_mb']:.1f} / {result['rss_last_mb']:.1f} / "
                                   f"{result['rss_max_mb']:.1f} MB"),
        ("open files first / last / max", f"{result['fds_first']} / {result['fds_last']} / {result['fds_max']}"),
        ("samples (every 10 s)", str(result["samples"])),
    ]
    return "\n".join(["soak", *(f"  {name:<34}{value}" for name, value in rows)])


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="minutes of sending (default 10)")
    parser.add_argument("--clients", type=int, default=300, help="clients, each holding a long poll (default 300)")
    parser.add_argument("--group-size", type=int, default=30, help="clients per group (default 30)")
    parser.add_argument("--rate", type=float, default=1.0, help="messages per second, all groups together (default 1)")
    add_common_arguments(parser)
    args = parser.parse_args(argv)
    if args.minutes <= 0 or args.rate <= 0 or args.clients < 2 or not 1 < args.group_size <= args.clients:
        parser.error("--minutes and --rate must be positive, --clients at least 2, --group-size 2 to --clients")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    loadgen.raise_fd_limit()

    async def measure(server: subprocess.Popen[bytes], port: int) -> dict[str, Any]:
        await wait_healthy(server, port)
        return await soak(port, server.pid, args)

    return run_against_one_server(
        "soak", args, measure, table, failed=lambda r: bool(r["lost"] or r["duplicated"] or r["out_of_order"])
    )


if __name__ == "__main__":
    sys.exit(main())
