#!/usr/bin/env python3
"""Where a fan-out's time goes: py-spy samples of tornado_chat and of the lean yardstick.

Why: ratios say how far tornado_chat is from a bare long poll, not where the
difference is spent. This starts both servers (tornado_chat on a private MariaDB),
puts N listeners' polls in one group on each, and while the same fan-out runs
(messages one at a time, each sent when every listener has the one before and has
polled again, as in bench/suite.py) samples the server process with py-spy: the
rounds only, not the listeners connecting. It
prints, per server, the fan-out's figures, the share of samples the event loop was
idle, and the functions with the most samples (self, and including callees).

Run from the repository root: ``python bench/fanout_profile.py [--n 1000] [--messages 40]``.
py-spy comes from PyPI (``pip install py-spy``) and needs to be allowed to ptrace the server
(root, or ``kernel.yama.ptrace_scope=0``). ``--raw DIR`` keeps py-spy's collapsed stacks.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import loadgen  # noqa: E402
from loadgen import Population, Target  # noqa: E402
from send_to_receive import (  # noqa: E402
    add_common_arguments,
    bench_database,
    free_port,
    start_server,
    stop_server,
    wait_healthy,
)

log = logging.getLogger("bench")
BENCH = Path(__file__).resolve().parent
IDLE_LEAF = "select (selectors.py)"  # the event loop waiting for something to do
THREAD_ROOT = "_bootstrap (threading.py)"  # the executor's threads: not the event loop
_LINE = re.compile(r":\d+\)$")
FIGURES = ("p50_ms", "p99_ms", "complete_p50_ms")


def frame_name(frame: str) -> str:
    """``answer (tornado_chat/web/base.py:135)`` -> ``answer (web/base.py)``: functions, not lines."""
    name, _, where = _LINE.sub(")", frame).partition(" (")
    return f"{name} ({'/'.join(where.rstrip(')').split('/')[-2:])})"


LAYERS = ("tornado_chat", "tornado", "asyncio", "logging", "prometheus_client", "json")


def layer(frame: str) -> str:
    """Which package a py-spy frame's code belongs to (``other``: the rest, C calls included
    in the frame that made them)."""
    where = frame.rpartition(" (")[2]
    return next((name for name in LAYERS if f"{name}/" in where or where.startswith(name)), "other")


def summarize(raw: Path, top: int) -> dict:
    """Self and inclusive sample counts per function from py-spy's collapsed stacks."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    layers: Counter[str] = Counter()
    idle = busy = threads = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        frames = [frame_name(f) for f in stack.split(";") if f]
        count = int(count_text)
        if not frames or frames[0].endswith(THREAD_ROOT):
            threads += count
            continue
        if frames[-1].endswith(IDLE_LEAF):
            idle += count
            continue
        busy += count
        own[frames[-1]] += count
        layers[layer(stack.split(";")[-1])] += count
        for name in set(frames):
            total[name] += count
    return {"samples": idle + busy, "idle_share": idle / max(1, idle + busy), "busy": busy, "thread_samples": threads,
            "self": own.most_common(top), "inclusive": total.most_common(top), "layers": layers.most_common()}


async def rounds_watched(target: Target, pop: Population, n: int, messages: int,
                         watch: Callable[[], contextlib.AbstractAsyncContextManager[None]],
                         ) -> tuple[loadgen.Tracker, loadgen.Rounds]:
    """The fan-out of bench/suite.py (loadgen's pieces), ``watch``ed for its rounds only: not
    while the listeners connect and settle."""
    sender_member, members, group_id = await loadgen.fanout_setup(target, pop, n)
    tracker = loadgen.Tracker()
    listeners = await loadgen.connect_all(target.ports, members[:n], tracker)
    sender = await loadgen.open_member(target.port, sender_member)

    def client_id(i: int) -> str:
        return f"{pop.tag}-profile-{i}"

    async def send(i: int) -> None:
        await sender.request("POST", f"/api/groups/{group_id}/messages", {"text": f"profile {i}",
                                                                           "client_id": client_id(i)}, expect=201)

    def warm_id(i: int) -> str:
        return client_id(-1 - i)

    async def warm(i: int) -> None:
        await send(-1 - i)

    try:
        await loadgen.wait_open_polls(target, n)
        await tracker.quiet()
        await loadgen.wait_open_polls(target, n)
        await loadgen.one_at_a_time(target, tracker, n, 0, 3, warm_id, warm)  # channels loaded, caches warm
        async with watch():
            rounds = await loadgen.one_at_a_time(target, tracker, n, 0, messages, client_id, send)
        tracker.check()
    finally:
        loadgen.close_all(listeners)
        sender.close()
    return tracker, rounds


def fanout_figures(tracker: loadgen.Tracker, rounds: loadgen.Rounds) -> dict[str, float]:
    latencies = [at - tracker.sent_at[key] for key in rounds.keys for at in tracker.receipts[key]]
    return {**loadgen.latency_figures(latencies), "complete_p50_ms": 1000 * statistics.median(rounds.bursts)}


async def profile(target: Target, pop: Population, n: int, messages: int, rate: int, raw: Path) -> dict:
    """py-spy's samples of the server during the rounds."""
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")

    @contextlib.asynccontextmanager
    async def py_spy_attached() -> AsyncIterator[None]:
        spy = subprocess.Popen([py_spy, "record", "--pid", str(target.pids[0]), "--rate", str(rate), "--idle",
                                "--nonblocking", "--format", "raw", "-o", str(raw)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        await asyncio.sleep(1.0)  # attached
        try:
            yield
        finally:
            spy.send_signal(signal.SIGINT)
            _, err = spy.communicate(timeout=30)
            if not raw.exists():
                raise RuntimeError(f"py-spy wrote nothing: {err.decode(errors='replace')[-500:]}")

    tracker, rounds = await rounds_watched(target, pop, n, messages, py_spy_attached)
    figures = fanout_figures(tracker, rounds)
    return {"figures": {k: figures.get(k) for k in FIGURES}, **summarize(raw, 25)}


async def timeline(target: Target, pop: Population, n: int, messages: int, trace: Path) -> None:
    """When, after each send, the server read and answered what (bench/traced.py's record),
    beside when the listeners had it: printed per message, in milliseconds from the send."""

    @contextlib.asynccontextmanager
    async def traced() -> AsyncIterator[None]:
        os.kill(target.pids[0], signal.SIGUSR2)  # the trace so far is written and dropped
        await asyncio.sleep(0.5)
        yield
        os.kill(target.pids[0], signal.SIGUSR2)
        await asyncio.sleep(0.5)

    tracker, rounds = await rounds_watched(target, pop, n, messages, traced)
    figures = fanout_figures(tracker, rounds)
    print(f"\n== {target.name} timeline, N={n}: " + ", ".join(f"{k} {v:.4g}" for k, v in figures.items()))
    events = [tuple(json.loads(line)) for line in trace.read_text().splitlines()]
    starts = [tracker.sent_at[key] for key in rounds.keys] + [float("inf")]
    cpu_per_answer: list[float] = []
    print("   ms after the send:  POST in  201 out  rounds  answers out: first   p50  last | receipts: "
          "first   p50  last | re-polls in: first  last")
    for index, key in enumerate(rounds.keys):
        t0, until = starts[index], starts[index + 1]
        mine = [(t - t0, cpu, kind, what) for t, cpu, kind, what in events if t0 <= t < until]

        def at(kind: str, what: str, mine: list = mine) -> list[float]:
            return [1000 * t for t, _, k, w in mine if k == kind and w.startswith(what)]

        answer_cpu = [cpu for _, cpu, k, w in mine if k == "out" and w.startswith("GET /api/events")]
        cpu_per_answer.append(1e6 * (answer_cpu[-1] - answer_cpu[0]) / max(1, len(answer_cpu) - 1))

        posts, created = at("in", "POST /api/groups/"), at("out", "POST /api/groups/")
        rounds_fired, answers, repolls = at("mark", ""), at("out", "GET /api/events"), at("in", "GET /api/events")
        receipts = sorted(1000 * (t - t0) for t in tracker.receipts[key])

        def first(values: list[float]) -> str:
            return f"{values[0]:7.2f}" if values else "      -"

        def spread(values: list[float]) -> str:
            if not values:
                return "     -     -     -"
            return f"{values[0]:6.1f}{statistics.median(values):6.1f}{values[-1]:6.1f}"

        print(f"   message {index + 1:<3}{first(posts):>15}{first(created):>9}  {len(rounds_fired):>3} at "
              f"{first(rounds_fired)}   {spread(answers)} ({len(answers)})   {spread(receipts)}   "
              f"{first(repolls):>8}{first(repolls[-1:]):>6}")
    print(f"   server CPU per answer (first answer to last), median: {statistics.median(cpu_per_answer):.1f} us")


def report(name: str, result: dict) -> None:
    figures = ", ".join(f"{k} {v:.4g}" for k, v in result["figures"].items() if v is not None)
    print(f"\n== {name}: {figures}")
    print(f"   {result['samples']} samples of the event loop's thread, idle (in select) in "
          f"{100 * result['idle_share']:.1f}%; {result['thread_samples']} of other threads left out")
    layers = ", ".join(f"{name} {100 * count / max(1, result['busy']):.0f}%" for name, count in result["layers"])
    print(f"   busy samples by package (self): {layers}")
    for title, rows in (("self", result["self"]), ("including callees", result["inclusive"])):
        print(f"   -- busy samples, {title}")
        for fn, count in rows:
            print(f"   {100 * count / max(1, result['busy']):6.1f}%  {fn}")


CHAT_ROUND = "tornado_chat.realtime.hub:Hub._wake_now"  # a wake-up round
YARD_ROUND = "tornado.locks:Condition.notify_all"


async def main_async(args: argparse.Namespace, workdir: Path) -> None:
    raw_dir = Path(args.raw) if args.raw else workdir
    raw_dir.mkdir(parents=True, exist_ok=True)
    chat_trace, yard_trace = workdir / "tornado_chat.trace", workdir / "yardstick.trace"
    traced = str(BENCH / "traced.py")
    with bench_database(args.database_url, workdir) as url:
        chat_port, yard_port = free_port(), free_port()
        launcher = (traced, str(chat_trace), "--mark", CHAT_ROUND, "--") if args.timeline else ()
        chat = start_server(workdir, chat_port, url, "--cookie-secret", secrets.token_hex(16), *args.server_flag,
                            launcher=launcher, root=Path(args.chat_root).resolve())
        yard_launcher = [traced, str(yard_trace), "--mark", YARD_ROUND, "--"] if args.timeline else []
        with (workdir / "yardstick.log").open("wb") as yard_log:
            yard = subprocess.Popen([sys.executable, *yard_launcher, str(BENCH / "baseline.py"), "--port",
                                     str(yard_port)], stdin=subprocess.DEVNULL, stdout=yard_log, stderr=yard_log)
        try:
            await wait_healthy(chat, chat_port)
            await wait_healthy(yard, yard_port)
            tag = secrets.token_hex(2)
            sides = [("yardstick (lean)", Target("yardstick", [yard_port], [yard.pid]), Population(f"y{tag}"),
                      yard_trace),
                     ("tornado_chat", Target("tornado_chat", [chat_port], [chat.pid]), Population(f"c{tag}"),
                      chat_trace)]
            for name, target, pop, trace in sides:
                if args.timeline:
                    await timeline(target, pop, args.n, args.messages, trace)
                else:
                    report(name, await profile(target, pop, args.n, args.messages, args.rate,
                                               raw_dir / f"{target.name}.raw"))
        finally:
            stop_server(chat)
            stop_server(yard)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="listeners (default 1000)")
    parser.add_argument("--messages", type=int, default=40, help="messages in the profiled fan-out (default 40)")
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples per second (default 250)")
    parser.add_argument("--raw", help="keep py-spy's collapsed stacks in this folder")
    parser.add_argument("--timeline", action="store_true",
                        help="instead of py-spy: when each answer left the server, per message (bench/traced.py)")
    parser.add_argument("--server-flag", action="append", default=[], help="an extra run.py flag (repeatable)")
    parser.add_argument("--chat-root", default=str(BENCH.parent),
                        help="the checkout whose run.py is tornado_chat (default: this one), for a before/after")
    add_common_arguments(parser)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="bench: %(message)s", stream=sys.stderr)
    loadgen.raise_fd_limit()
    workdir = Path(tempfile.mkdtemp(prefix="chat-profile-"))
    try:
        asyncio.run(main_async(args, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
