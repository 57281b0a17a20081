"""Servers as processes of their own: a private redis-server, and run.py started as an
operator would, for the tests of what only a real process shows (signals, logs, forks,
several processes sharing Redis)."""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from tornado_chat.config import PROJECT_ROOT, DatabaseURL

from .http import free_port
from .servers import NO_PUSH_SERVICE

NO_RATE_LIMIT_FLAGS = ("--register-limit", "off", "--send-limit", "off", "--upload-limit", "off",
                       "--typing-limit", "off")


class RedisServer:
    """A private redis-server on a free port, which a test may stop and start again."""

    def __init__(self, directory: str) -> None:
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", self.directory],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                conn.sendall(b"PING\r\n")
                if conn.recv(16).startswith(b"+PONG"):
                    return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@dataclass
class ChatProcess:
    """run.py as a real process of its own."""

    process: subprocess.Popen[str]
    base_url: str
    log_path: Path


@contextlib.contextmanager
def running_chat_processes(database: DatabaseURL, directory: Path) -> Iterator[Callable[..., ChatProcess]]:
    """A function that starts run.py (extra flags as arguments) on a free port, against
    ``database``, its log and var/ in ``directory``, and returns once it is healthy; on
    leaving, every process gets SIGTERM, and a kill if it has not exited 20 s later."""
    started: list[ChatProcess] = []

    def start(*args: str) -> ChatProcess:
        port = free_port()
        log_path = directory / f"run-{port}.log"
        log_file = log_path.open("w")
        process = subprocess.Popen(
            [sys.executable, "run.py", "--port", str(port), "--database-url", database.url(),
             "--bcrypt-rounds", "4", "--var-dir", str(directory / "var"), "--cookie-secret", "test-secret",
             *NO_RATE_LIMIT_FLAGS, "--push-endpoint-allow", NO_PUSH_SERVICE, *args],
            cwd=PROJECT_ROOT, stdout=log_file, stderr=subprocess.STDOUT, text=True,
        )
        chat = ChatProcess(process, f"http://127.0.0.1:{port}", log_path)
        started.append(chat)
        wait_until_healthy(chat)
        return chat

    yield start
    for chat in started:
        if chat.process.poll() is None:
            chat.process.send_signal(signal.SIGTERM)
    for chat in started:
        try:
            chat.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            chat.process.kill()


def wait_until_healthy(chat: ChatProcess, limit: float = 60) -> None:
    """Return once /healthz answers 200; raise with the log's end if run.py exits or takes too long."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if chat.process.poll() is not None:
            raise RuntimeError(f"run.py exited: {chat.log_path.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(chat.base_url + "/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("run.py did not become healthy")
