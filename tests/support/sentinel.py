"""Redis Sentinel of real processes on loopback ports, for the tests of what the application
does when its Redis primary dies (issue 18): a primary, one replica and three sentinels
(``redis-server --sentinel``) monitoring the master name ``chat`` with a quorum of 2.

Persistence is off, as in the tests' other redis-servers. Each sentinel has a config file of
its own in the set's directory, since a sentinel rewrites its config as it learns the others
and records a failover.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import redis

from .http import free_ports

MASTER_NAME = "chat"
HOST = "127.0.0.1"
QUORUM = 2
# A primary that does not answer for a second is down; a failover that stalls is retried
# after 5 s (the defaults are 30 s and 3 minutes).
DOWN_AFTER_MS = 1000
FAILOVER_TIMEOUT_MS = 5000
# Sentinels announce themselves every 2 s and read a primary's INFO every 10 s (every second
# during a failover); allow for a busy machine.
READY_TIMEOUT = 60.0


class SentinelError(Exception):
    """The set did not reach the state asked for; the message says which and quotes logs."""


def _log_tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no log at {path})"


def _client(port: int) -> redis.Redis:
    return redis.Redis(host=HOST, port=port, socket_timeout=2, socket_connect_timeout=2, decode_responses=True)


def _wait(condition: Callable[[], bool], timeout: float, what: str, logs: list[Path]) -> None:
    """Poll ``condition`` (connection errors count as not yet) until true or ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(redis.RedisError, OSError):
            if condition():
                return
        if time.monotonic() >= deadline:
            quoted = "\n".join(f"{log}:\n{_log_tail(log)}" for log in logs)
            raise SentinelError(f"{what} did not happen within {timeout:.0f} s\n{quoted}")
        time.sleep(0.2)


class RedisSentinelSet:
    """A Redis primary, a replica and three sentinels, in ``directory``, on free ports."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        ports = free_ports(5)
        self.redis_ports = ports[:2]
        self.sentinel_ports = ports[2:]
        self._servers: dict[int, subprocess.Popen[bytes]] = {}
        self._sentinels: dict[int, subprocess.Popen[bytes]] = {}

    @property
    def sentinel_addresses(self) -> list[tuple[str, int]]:
        """The sentinels' (host, port), as redis-py's Sentinel takes them."""
        return [(HOST, port) for port in self.sentinel_ports]

    @property
    def url(self) -> str:
        """The application's form: redis+sentinel://host:port,host:port,.../master-name/db."""
        hosts = ",".join(f"{HOST}:{port}" for port in self.sentinel_ports)
        return f"redis+sentinel://{hosts}/{MASTER_NAME}/0"

    def start(self) -> None:
        """Start the primary, its replica, then the sentinels; returns once every sentinel
        knows the primary, the replica and the other two sentinels."""
        self.directory.mkdir(parents=True, exist_ok=True)
        primary, replica = self.redis_ports
        try:
            self._start_server(primary)
            self._start_server(replica, replica_of=primary)
            _wait(lambda: self._role(replica) == ("slave", "connected"), READY_TIMEOUT,
                  f"replica {replica} in sync with {primary}", [self._log(replica)])
            for port in self.sentinel_ports:
                self._start_sentinel(port, primary)
            _wait(self._sentinels_agree, READY_TIMEOUT, "the sentinels agreeing on the primary, replica and each other",
                  [self._log(port) for port in self.sentinel_ports])
        except BaseException:
            self.stop()
            raise

    def primary_port(self) -> int:
        """The primary's port, as the first sentinel that answers reports it."""
        for port in self.sentinel_ports:
            with contextlib.suppress(redis.RedisError, OSError):
                _, primary = _client(port).sentinel_get_master_addr_by_name(MASTER_NAME)
                return int(primary)
        raise SentinelError("no sentinel answered")

    def kill_primary(self) -> int:
        """SIGKILL the current primary's process; returns its port."""
        port = self.primary_port()
        process = self._servers.pop(port)
        process.kill()
        process.wait()
        return port

    def wait_for_failover(self, old_port: int, timeout: float = READY_TIMEOUT) -> int:
        """Wait until every sentinel names the same primary other than ``old_port``, in good
        health (what redis-py's Sentinel.master_for asks of it), and that server answers ROLE as
        master; returns its port. One sentinel knowing is not enough: a client may ask another."""
        found: list[int] = []

        def promoted() -> bool:
            states = [_client(port).sentinel_master(MASTER_NAME) for port in self.sentinel_ports]
            ports = {int(state["port"]) for state in states}
            healthy = all(state["is_master"] and not state["is_sdown"] and not state["is_odown"] for state in states)
            if len(ports) == 1 and old_port not in ports and healthy and self._role(min(ports))[0] == "master":
                found.append(ports.pop())
                return True
            return False

        _wait(promoted, timeout, f"a failover from {old_port}",
              [self._log(port) for port in self.sentinel_ports])
        return found[-1]

    def restart(self, port: int, timeout: float = READY_TIMEOUT) -> None:
        """Start a killed server again on its port, as it was started before; returns once the
        sentinels have made it a replica of the current primary, in sync."""
        self._start_server(port, replica_of=None if port == self.redis_ports[0] else self.redis_ports[0])
        _wait(lambda: self._role(port) == ("slave", "connected") and self.primary_port() != port, timeout,
              f"{port} becoming a replica again", [self._log(port), *(self._log(s) for s in self.sentinel_ports)])

    def stop(self) -> None:
        """Every process gone (SIGTERM, SIGKILL after 10 s), even after a failure."""
        processes = [*self._sentinels.values(), *self._servers.values()]
        self._sentinels.clear()
        self._servers.clear()
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def _log(self, port: int) -> Path:
        return self.directory / f"redis-{port}.log"

    def _spawn(self, args: list[str], port: int) -> subprocess.Popen[bytes]:
        with self._log(port).open("ab") as log:
            return subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log)

    def _start_server(self, port: int, replica_of: int | None = None) -> None:
        args = ["redis-server", "--port", str(port), "--bind", HOST, "--save", "", "--appendonly", "no",
                "--dir", str(self.directory), "--dbfilename", f"dump-{port}.rdb"]
        if replica_of is not None:
            args += ["--replicaof", HOST, str(replica_of)]
        self._servers[port] = self._spawn(args, port)
        _wait(lambda: _client(port).ping(), READY_TIMEOUT, f"redis-server on {port} answering", [self._log(port)])

    def _start_sentinel(self, port: int, primary: int) -> None:
        config = self.directory / f"sentinel-{port}.conf"
        config.write_text("\n".join([
            f"port {port}",
            f"bind {HOST}",
            f"dir {self.directory}",
            f"sentinel monitor {MASTER_NAME} {HOST} {primary} {QUORUM}",
            f"sentinel down-after-milliseconds {MASTER_NAME} {DOWN_AFTER_MS}",
            f"sentinel failover-timeout {MASTER_NAME} {FAILOVER_TIMEOUT_MS}",
            f"sentinel parallel-syncs {MASTER_NAME} 1",
            "",
        ]))
        self._sentinels[port] = self._spawn(["redis-server", str(config), "--sentinel"], port)

    def _role(self, port: int) -> tuple[str, str]:
        """("master", "") or ("slave", replication link state) as the server reports it."""
        role = _client(port).execute_command("ROLE")
        return (role[0], role[3] if role[0] == "slave" else "")

    def _sentinels_agree(self) -> bool:
        primary, replica = self.redis_ports
        for port in self.sentinel_ports:
            client = _client(port)
            if int(client.sentinel_get_master_addr_by_name(MASTER_NAME)[1]) != primary:
                return False
            if [int(r["port"]) for r in client.sentinel_slaves(MASTER_NAME)] != [replica]:
                return False
            if len(client.sentinel_sentinels(MASTER_NAME)) != len(self.sentinel_ports) - 1:
                return False
        return True
