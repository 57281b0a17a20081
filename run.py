#!/usr/bin/env python3
"""Serve tornado_chat: ``python run.py --help`` lists the flags."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import logging
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any, NoReturn

import pymysql
import tornado.httpserver
import tornado.iostream
import tornado.netutil
import tornado.process

from tornado_chat import logs
from tornado_chat.app import ChatApp, create_app
from tornado_chat.config import (
    ConfigError,
    DatabaseTimeouts,
    DatabaseURL,
    Settings,
    load_or_create_cookie_secret,
    parse_args,
    push_settings,
    security_settings,
)
from tornado_chat.dbserver import DBServerError, EmbeddedMariaDB
from tornado_chat.store.migrate import MigrationError

log = logging.getLogger("tornado_chat")

MAX_BODY_BYTES = 11 * 1024 * 1024
EMBEDDED_DATABASE = "tornado_chat"
PR_SET_PDEATHSIG = 1
GC_YOUNG_THRESHOLD = 50_000
M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
MMAP_THRESHOLD = 256 * 1024
# Connections the kernel queues before accept (Tornado's default is 128): a thousand clients
# reconnecting at once, after a restart or a network blip, wait in the queue instead of
# having their SYNs dropped and resent a second or more later.
LISTEN_BACKLOG = 2048
SHUTDOWN_LIMIT = 4.5  # seconds from SIGTERM to letting go, whatever still hangs (the promise is 5 s)


class ChatServer(tornado.httpserver.HTTPServer):
    """Tornado's server, with no connection kept by a client that has gone quiet.

    ``idle_connection_timeout`` covers a client that sends nothing between requests (one that
    never reads a short answer ends up there too). An answer too big for the socket buffers that
    the client never reads would hold its connection and its unsent bytes forever, as Tornado has
    no write timeout: TCP_USER_TIMEOUT has the kernel drop a connection whose data has gone
    unacknowledged, its window shut, for as long."""

    def initialize(self, *args: Any, idle_connection_timeout: float | None = None, **kwargs: Any) -> None:
        super().initialize(*args, idle_connection_timeout=idle_connection_timeout, **kwargs)
        self._user_timeout_ms = int((idle_connection_timeout or 0) * 1000)

    def handle_stream(self, stream: tornado.iostream.IOStream, address: tuple) -> None:
        if self._user_timeout_ms and hasattr(socket, "TCP_USER_TIMEOUT"):
            with contextlib.suppress(OSError):
                stream.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, self._user_timeout_ms)
        super().handle_stream(stream, address)


async def serve(settings: Settings, sockets: list[socket.socket], xheaders: bool, idle_timeout: float) -> None:
    app = await create_app(settings)
    server = ChatServer(app, max_body_size=MAX_BODY_BYTES, xheaders=xheaders, idle_connection_timeout=idle_timeout)
    server.add_sockets(sockets)
    tune_garbage_collection()
    log.info("serving on http://%s:%d (pid %d)", settings.address, settings.port, os.getpid())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("shutting down")
    server.stop()  # the listening sockets close: new connections are refused from here on
    try:
        await asyncio.wait_for(_shut_down(app, server), SHUTDOWN_LIMIT)
    except TimeoutError:
        log.warning("shutting down took over %g s; stopping anyway", SHUTDOWN_LIMIT)


async def _shut_down(app: ChatApp, server: tornado.httpserver.HTTPServer) -> None:
    """Answer the polls and write presence (ChatApp.close), then drop the idle keep-alive connections."""
    await app.close()
    await server.close_all_connections()


def _interrupt(signum: int, frame: object) -> NoReturn:
    raise KeyboardInterrupt


def _children() -> list[int]:
    """This process's children (Linux /proc): fork_processes keeps its list to itself."""
    me, found = os.getpid(), []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == me:
                found.append(int(stat.parent.name))
    return found


def run_workers(
    count: int, settings: Settings, sockets: list[socket.socket], xheaders: bool, idle_timeout: float
) -> None:
    """Fork ``count`` workers on the shared sockets; in the parent, return once they have all
    stopped (a SIGINT or SIGTERM to the parent is passed on to them)."""
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        tornado.process.fork_processes(count)
    except (KeyboardInterrupt, SystemExit):  # the parent: stopped, or every worker has exited
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for sock in sockets:  # the workers close their copies; this one would still take connections
            sock.close()
        for pid in _children():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        with contextlib.suppress(ChildProcessError):
            while True:
                os.wait()
        return
    with contextlib.suppress(OSError, AttributeError):  # a worker stops when its parent dies
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    asyncio.run(serve(settings, sockets, xheaders, idle_timeout))
    os._exit(0)  # never run the parent's clean-up (it owns the private database) in a worker


def tune_garbage_collection() -> None:
    """A server holding thousands of polls makes the cyclic collector scan the same long-lived
    objects over and over: what start-up made is frozen out of its sight, and young objects are
    collected every 50,000 allocations instead of 700 (fan-out CPU per delivery about 10% lower,
    bench/README.md). Reference counting still frees everything that is not in a cycle at once."""
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, 20, 100)


def give_big_buffers_back() -> None:
    """glibc raises its mmap threshold whenever a big block is freed (up to 32 MB); image-sized
    buffers then come from the heap, whose freed space is kept, and a burst of image answers (or
    of clients not reading them) stays in RSS for good. A fixed threshold maps each block over
    256 KB on its own, returned to the system when freed."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)


def main(argv: list[str] | None = None) -> int:
    give_big_buffers_back()
    args = parse_args(argv)
    logs.setup(args.log_format, args.access_log)
    embedded = None
    try:
        if args.database_url:
            database = DatabaseURL.parse(args.database_url)
        else:
            embedded = EmbeddedMariaDB(args.var_dir / "mariadb")
            log.info("starting the private MariaDB server in %s", args.var_dir / "mariadb")
            embedded.start()
            database = DatabaseURL.parse(embedded.url(EMBEDDED_DATABASE))
        settings = Settings(
            database=database,
            cookie_secret=args.cookie_secret or load_or_create_cookie_secret(args.var_dir),
            address=args.address,
            port=args.port,
            bcrypt_rounds=args.bcrypt_rounds,
            debug=args.debug,
            redis_url=args.redis_url,
            **security_settings(args),
            **push_settings(args),
            db_timeouts=DatabaseTimeouts(args.db_connect_timeout, args.db_acquire_timeout, args.db_statement_timeout),
            db_failback_interval=args.db_failback_interval,
        )
        sockets = tornado.netutil.bind_sockets(args.port, args.address, backlog=LISTEN_BACKLOG)
        if args.processes > 1:
            run_workers(args.processes, settings, sockets, args.xheaders, args.idle_timeout)
        else:
            asyncio.run(serve(settings, sockets, args.xheaders, args.idle_timeout))
    except (ConfigError, DBServerError, MigrationError) as exc:
        print(f"run.py: {exc}", file=sys.stderr)
        return 2
    except pymysql.err.OperationalError as exc:
        print(f"run.py: cannot reach the database: {exc.args[-1]}", file=sys.stderr)
        return 2
    finally:
        if embedded is not None:
            embedded.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
