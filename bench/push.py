#!/usr/bin/env python3
"""Web Push: the pushes per second the worker sustains, and the sender's latency meanwhile.

Why: a push must never delay a send (issue 16). The worker encrypts every push (RFC 8291,
a new key pair each) and signs it (VAPID), on the event loop that also answers the senders,
so the question is what it costs them, and how many pushes per second one process gets out.

How: ``run.py`` as its own process, allowed to push only to a push service this script runs
on loopback, which answers ``201`` at once and counts (it does not decrypt: the tests check
the payloads, this measures). A sender and two public groups of ``--recipients`` offline
members each: in group ON every member has one subscription, in group OFF none (the worker
still reads the recipients of each message there, and finds none). Rounds alternate ON, OFF,
ON, ...: in a round the sender sends ``--messages`` messages one after another, as fast as
the answers come, each timed from request to answer; an ON round then waits until every
push has arrived (so the next OFF round meets an idle worker) and its throughput is pushes
received over the time from its first send to its last push (with the sends back to back,
the default, the worker runs flat out: that is what it sustains; ``--rate`` paces the sends
to show the sender's latency at a push rate below that). At the end ``/metrics`` must show
every push sent, none failed or dropped.

Run from the repository root: ``python bench/push.py [--messages N] [--rounds N] [--recipients N] [--rate N]``.
Output: one JSON object on a line, then a table.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import logging
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pymysql
import tornado.httpserver
import tornado.web
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

sys.path.insert(0, str(Path(__file__).resolve().parent))

from send_to_receive import (  # noqa: E402
    BenchError,
    Connection,
    add_common_arguments,
    bench_database,
    common_fields,
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

SCENARIO = "push"
DRAIN_LIMIT = 120.0  # seconds an ON round may take to get all its pushes out before the run fails


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


class PushSink:
    """A push service that takes every push with 201 and notes when it came."""

    def __init__(self) -> None:
        self.port = free_port()
        self.prefix = f"http://127.0.0.1:{self.port}/"
        self.arrivals: list[float] = []
        self.changed = asyncio.Event()
        sink = self

        class Handler(tornado.web.RequestHandler):
            def post(self, name: str) -> None:
                sink.arrivals.append(time.perf_counter())
                sink.changed.set()
                self.set_status(201)

        self._server = tornado.httpserver.HTTPServer(tornado.web.Application([(r"/push/(\w+)", Handler)]))
        self._server.listen(self.port, "127.0.0.1")

    async def wait_for(self, count: int) -> None:
        deadline = time.monotonic() + DRAIN_LIMIT
        while len(self.arrivals) < count:
            if time.monotonic() > deadline:
                raise BenchError(f"{len(self.arrivals)} pushes arrived of {count} within {DRAIN_LIMIT:g} s")
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), 1.0)

    def stop(self) -> None:
        self._server.stop()


def subscription(prefix: str) -> dict[str, Any]:
    key = ec.generate_private_key(ec.SECP256R1())
    point = key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return {"endpoint": f"{prefix}push/{secrets.token_hex(8)}",
            "keys": {"p256dh": b64url(point), "auth": b64url(secrets.token_bytes(16))}}


async def group_of(sender: Connection, port: int, name: str, recipients: int, sink: PushSink | None) -> int:
    group = (await sender.request("POST", "/api/groups", {"name": name}, expect=201))["group"]
    for _ in range(recipients):
        member = await register(port, f"r_{secrets.token_hex(6)}")
        try:
            await member.request("PUT", f"/api/groups/{group['id']}/membership")
            if sink is not None:
                await member.request("POST", "/api/push/subscriptions", subscription(sink.prefix), expect=201)
        finally:
            member.close()
    return group["id"]


async def metric(port: int, name: str) -> float:
    """One figure of /metrics (read with a plain socket: the answer is text, not JSON)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode())
    text = (await reader.read()).decode()
    writer.close()
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise BenchError(f"/metrics has no {name}")


async def measure(
    server: subprocess.Popen[bytes], port: int, sink: PushSink, args: argparse.Namespace
) -> dict[str, Any]:
    await wait_healthy(server, port)
    sender = await register(port, f"s_{secrets.token_hex(6)}")
    groups = {
        "on": await group_of(sender, port, f"push_on_{secrets.token_hex(4)}", args.recipients, sink),
        "off": await group_of(sender, port, f"push_off_{secrets.token_hex(4)}", args.recipients, None),
    }
    for mode in ("on", "off"):  # warm-up: connections, caches, the first JWT
        for i in range(5):
            await sender.request("POST", f"/api/groups/{groups[mode]}/messages", {"text": f"warm {i}"}, expect=201)
    expected = 5 * args.recipients
    await sink.wait_for(expected)
    latencies: dict[str, list[float]] = {"on": [], "off": []}
    rates: list[float] = []
    for round_number in range(args.rounds):
        mode = "on" if round_number % 2 == 0 else "off"
        first = len(sink.arrivals)
        started = time.perf_counter()
        for i in range(args.messages):
            if args.rate:  # an open-loop schedule: the i-th send is due at i / rate
                await asyncio.sleep(max(0.0, started + i / args.rate - time.perf_counter()))
            t0 = time.perf_counter()
            await sender.request("POST", f"/api/groups/{groups[mode]}/messages", {"text": f"round {round_number} #{i}"},
                                 expect=201)
            latencies[mode].append(time.perf_counter() - t0)
        if mode == "on":
            expected += args.messages * args.recipients
            await sink.wait_for(expected)
            rates.append((len(sink.arrivals) - first) / (sink.arrivals[-1] - started))
        log.info("round %d (%s) done", round_number + 1, mode)
    sender.close()
    sent, failed, dropped = [await metric(port, f"chat_pushes_{name}_total") for name in ("sent", "failed", "dropped")]
    if (sent, failed, dropped) != (expected, 0, 0) or len(sink.arrivals) != expected:
        raise BenchError(f"pushes: {sent:g} sent, {failed:g} failed, {dropped:g} dropped, "
                         f"{len(sink.arrivals)} arrived; {expected} expected")
    figures = {mode: {k: round(v, 3) for k, v in milliseconds(found).items()} for mode, found in latencies.items()}
    return {
        "scenario": SCENARIO,
        "recipients": args.recipients,
        "messages_per_round": args.messages,
        "rounds": args.rounds,
        "rate": args.rate or None,
        "pushes": expected,
        "pushes_per_second": round(statistics.median(rates), 1),
        "pushes_per_second_rounds": [round(r, 1) for r in rates],
        "send_with_pushes": figures["on"],
        "send_without_pushes": figures["off"],
        **common_fields(),
    }


def table(result: dict[str, Any]) -> str:
    on, off = result["send_with_pushes"], result["send_without_pushes"]
    lines = [
        f"Web Push: {result['recipients']} offline subscribers, {result['messages_per_round']} messages per round, "
        f"{result['rounds']} rounds alternating pushes on / off, "
        + (f"{result['rate']:g} messages/s" if result["rate"] else "messages back to back"),
        f"  pushes per second (median of the ON rounds): {result['pushes_per_second']:.0f}"
        f"  (rounds: {', '.join(f'{r:.0f}' for r in result['pushes_per_second_rounds'])})",
        f"  {'sender':<10}{'pushes on':>12}{'pushes off':>12}",
    ]
    for label, key in (("p50", "median_ms"), ("p90", "p90_ms"), ("p99", "p99_ms"), ("max", "max_ms")):
        lines.append(f"  {label:<10}{on[key]:>9.2f} ms{off[key]:>9.2f} ms")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200, help="messages sent per round (default 200)")
    parser.add_argument("--rounds", type=int, default=6, help="rounds, alternating pushes on and off (default 6)")
    parser.add_argument("--recipients", type=int, default=20, help="offline members of each group (default 20)")
    parser.add_argument("--rate", type=float, default=0.0,
                        help="messages per second the sender sends at (default 0: each as soon as the last "
                        "is answered, so the worker runs flat out)")
    add_common_arguments(parser)
    args = parser.parse_args(argv)
    if args.messages < 2 or args.rounds < 2 or args.recipients < 1 or args.rate < 0:
        parser.error("--messages and --rounds must be at least 2, --recipients at least 1, --rate at least 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.json_only else logging.INFO, format="bench: %(message)s")
    logging.getLogger("tornado.access").setLevel(logging.WARNING)  # the push service's own access lines
    workdir = Path(tempfile.mkdtemp(prefix="chat-bench-"))
    server: subprocess.Popen[bytes] | None = None
    port = free_port()

    async def run(url: str) -> dict[str, Any]:
        nonlocal server
        sink = PushSink()
        server = start_server(workdir, port, url, "--push-endpoint-allow", sink.prefix)
        try:
            return await measure(server, port, sink, args)
        finally:
            sink.stop()

    try:
        with bench_database(args.database_url, workdir) as url:
            try:
                result = asyncio.run(run(url))
            finally:
                if server is not None:
                    stop_server(server)
    except (BenchError, ConfigError, DBServerError, pymysql.MySQLError, OSError) as exc:
        print(f"{SCENARIO}: {str(exc) or type(exc).__name__}", file=sys.stderr)
        if server is not None:
            print(f"last lines of the server's log:\n{tail(workdir / f'server-{port}.log')}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(result), flush=True)
    if not args.json_only:
        print(table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
