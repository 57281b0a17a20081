#!/usr/bin/env python3
"""Run a server script with a timeline of its requests kept in memory, written out on SIGUSR2.

``python bench/traced.py TRACE_FILE [--mark module:Class.method ...] -- script.py [args...]``

Why: a profile says what costs CPU, not when each answer of a fan-out leaves the
server. This records, with ``time.perf_counter()`` (the system-wide monotonic
clock, so comparable with the load generator's), when each request has been read
and parsed (``in``: Tornado calls the handler), when its answer has been handed to
the socket (``out``: ``RequestHandler.finish`` returned), and when each ``--mark``ed
function was entered (a wake-up round, say), each with the process's CPU time then. On
SIGUSR2 it writes one JSON array per line, ``[t, cpu, kind, what]``, to TRACE_FILE and starts
a new timeline. Nothing of the
server's own code is changed: the patches are made here, before the script runs.
"""

from __future__ import annotations

import functools
import importlib
import json
import runpy
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tornado.web

TRACE: list[tuple[float, float, str, str]] = []  # (perf_counter, process_time, kind, what)


def dump(path: Path) -> None:
    global TRACE
    lines, TRACE = TRACE, []
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))


def marked(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        TRACE.append((time.perf_counter(), time.process_time(), "mark", name))
        return function(*args, **kwargs)

    return wrapper


def install(marks: list[str]) -> None:
    execute, finish = tornado.web.RequestHandler._execute, tornado.web.RequestHandler.finish

    def traced_execute(self: tornado.web.RequestHandler, *args: Any, **kwargs: Any) -> Any:
        TRACE.append((time.perf_counter(), time.process_time(), "in", f"{self.request.method} {self.request.path}"))
        return execute(self, *args, **kwargs)

    def traced_finish(self: tornado.web.RequestHandler, *args: Any, **kwargs: Any) -> Any:
        done = finish(self, *args, **kwargs)
        TRACE.append((time.perf_counter(), time.process_time(), "out", f"{self.request.method} {self.request.path}"))
        return done

    tornado.web.RequestHandler._execute = traced_execute  # type: ignore[method-assign]
    tornado.web.RequestHandler.finish = traced_finish  # type: ignore[method-assign]
    for mark in marks:
        module_name, _, qualified = mark.partition(":")
        owner_name, _, method = qualified.rpartition(".")
        owner = getattr(importlib.import_module(module_name), owner_name)
        setattr(owner, method, marked(mark, getattr(owner, method)))


def main() -> None:
    trace_file, rest = Path(sys.argv[1]), sys.argv[2:]
    split = rest.index("--")
    marks = [m for m in rest[:split] if m != "--mark"]
    script, *script_args = rest[split + 1:]
    sys.path.insert(0, str(Path(script).resolve().parent))
    install(marks)
    signal.signal(signal.SIGUSR2, lambda *_: dump(trace_file))
    sys.argv = [script, *script_args]
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
