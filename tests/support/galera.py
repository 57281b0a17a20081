"""A MariaDB Galera cluster of real processes on loopback ports, for the tests of what the
application does when a database node dies (issue 18).

Each node is a ``mariadbd`` of its own with a per-node option file (``--defaults-file``), so
the state-transfer scripts, which re-read the server's options, see exactly what the server
runs with. Only node 0's data directory is initialised (``mariadb-install-db``); node 0
bootstraps the cluster (``--wsrep-new-cluster``) and the others receive its data by state
transfer as they join, as a real cluster's new nodes do.

State transfer is Galera's ``rsync`` method, with the nodes running as an ordinary user.
Why: run as root, the joiner's rsync daemon drops to ``nobody`` and cannot write the data
directory ("Permission denied"); the other method, ``mariabackup``, needs another package
and hands the server's options to ``mariadb-backup``, which refuses some of them. So when
the tests run as root, every node runs as the system user ``tornado_chat_db`` (created by
scripts/ensure-cluster) and lives under a directory of its own in /tmp, since pytest's
temporary directories (mode 700) cannot be reached by another user; the nodes' error logs
are copied into the cluster's ``directory`` when it stops, and the rest is deleted.

A node killed with SIGKILL leaves its Galera state marked unknown (seqno -1); before it
starts again, ``mariadbd --wsrep-recover`` reads its last committed position from InnoDB
and the node starts from there, so it receives only what it missed (IST from a donor's
gcache), or everything (SST) when the gap is too large.

``wsrep_sync_wait`` is left at the server's default: the application sets it per session.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pymysql

from tornado_chat.dbserver import SETTINGS, find_install_db, find_server_binary

from .http import free_ports

PROVIDER = "/usr/lib/galera/libgalera_smm.so"
DB_USER = "tornado_chat_db"
HOST = "127.0.0.1"
# A joiner's state transfer and a first start are slow on a busy two-core machine.
START_TIMEOUT = 240.0
STOP_TIMEOUT = 60.0
# A killed node is suspected after 2 s and evicted after 4 s of silence, so the others carry
# on (2 of 3 keep quorum) within seconds. Galera wants keepalive_period <= inactive_check_period
# <= suspect_timeout <= inactive_timeout, and install_timeout no longer than inactive_timeout.
_FAILURE_DETECTION = (
    "evs.keepalive_period=PT0.5S",
    "evs.inactive_check_period=PT0.5S",
    "evs.suspect_timeout=PT2S",
    "evs.inactive_timeout=PT4S",
    "evs.install_timeout=PT4S",
)
_RECOVERED = re.compile(r"WSREP: Recovered position:\s*(\S+:-?\d+)")


class GaleraError(Exception):
    """A node would not start, join or stop; the message names it and quotes its error log."""


@dataclass(frozen=True)
class _Ports:
    mysql: int
    gmcast: int
    ist: int
    sst: int


def _log_tail(path: Path, lines: int = 25) -> str:
    """The end of a log, where a failed start or state transfer explains itself."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:]) or f"(empty log {path})"


def _run_as() -> pwd.struct_passwd | None:
    """The user the nodes run as: tornado_chat_db under root (see the module's docstring)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(DB_USER)
    except KeyError:
        raise GaleraError(f"no user {DB_USER!r} to run the Galera nodes as: run scripts/ensure-cluster") from None


class GaleraNode:
    """One node of a GaleraCluster: its own data directory, option file, ports and process."""

    def __init__(self, cluster: GaleraCluster, index: int, home: Path, ports: _Ports) -> None:
        self.cluster = cluster
        self.index = index
        self.name = f"node{index}"
        self.home = home
        self.ports = ports
        self.datadir = home / "data"
        self.socket_path = str(home / "mysqld.sock")
        self.error_log = home / "error.log"
        self.option_file = home / "my.cnf"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def port(self) -> int:
        """The node's MySQL port on 127.0.0.1."""
        return self.ports.mysql

    @property
    def address(self) -> tuple[str, int]:
        """(host, MySQL port), as the application is given it."""
        return (HOST, self.ports.mysql)

    @property
    def pid(self) -> int:
        """The running server's process id."""
        if self._process is None:
            raise GaleraError(f"Galera {self.name} is not running")
        return self._process.pid

    @property
    def running(self) -> bool:
        """Whether the server process is alive (not whether it is Synced)."""
        return self._process is not None and self._process.poll() is None

    def connect(self, database: str | None = None, **kwargs: object) -> pymysql.Connection:
        """A root connection over the node's unix socket, each statement committed at once."""
        return pymysql.connect(unix_socket=self.socket_path, user="root", database=database, autocommit=True,
                               connect_timeout=5, **kwargs)

    def status(self) -> dict[str, str]:
        """The node's wsrep status variables, by name."""
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                cur.execute("SHOW GLOBAL STATUS LIKE 'wsrep%'")
                return {name: value for name, value in cur.fetchall()}
        finally:
            conn.close()

    def start(self, timeout: float = START_TIMEOUT) -> None:
        """Start a stopped or killed node: it rejoins the running cluster (IST, or SST when it
        missed too much) and this returns once it is Synced and the cluster is whole again."""
        if self.running:
            raise GaleraError(f"Galera {self.name} is already running (pid {self.pid})")
        deadline = time.monotonic() + timeout
        self._launch(extra=self._start_position(deadline))
        self.cluster._wait_synced([self], self.cluster._running_count(), deadline)

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """A clean shutdown (SIGTERM), a kill if it takes longer than ``timeout``."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        self._kill_group()

    def kill(self) -> None:
        """SIGKILL, like a machine's crash; returns once the process is gone."""
        self._kill_group()

    def _kill_group(self) -> None:
        """Kill the server and whatever it started (a state transfer's rsync daemon, which
        would otherwise keep the SST port), and reap it."""
        process, self._process = self._process, None
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def write_option_file(self, gcomm: str) -> None:
        """The node's settings: the project's own (dbserver.SETTINGS) and Galera's."""
        provider_options = ";".join([
            f"gmcast.listen_addr=tcp://{HOST}:{self.ports.gmcast}",
            f"ist.recv_addr={HOST}:{self.ports.ist}",
            "gcache.size=64M",
            *_FAILURE_DETECTION,
        ])
        user = _run_as()
        lines = [
            "[mysqld]",
            *(setting.removeprefix("--") for setting in SETTINGS),
            f"datadir={self.datadir}",
            f"socket={self.socket_path}",
            f"pid-file={self.home / 'mysqld.pid'}",
            f"log-error={self.error_log}",
            f"port={self.ports.mysql}",
            f"bind-address={HOST}",
            "skip-name-resolve",
            *([f"user={user.pw_name}"] if user else []),
            "innodb-flush-log-at-trx-commit=1",
            "default-storage-engine=InnoDB",
            "binlog-format=ROW",
            "innodb-autoinc-lock-mode=2",
            "wsrep-on=ON",
            f"wsrep-provider={PROVIDER}",
            "wsrep-cluster-name=tornado_chat_test",
            f"wsrep-cluster-address={gcomm}",
            f"wsrep-node-name={self.name}",
            f"wsrep-node-address={HOST}:{self.ports.gmcast}",
            f"wsrep-node-incoming-address={HOST}:{self.ports.mysql}",
            f'wsrep-provider-options="{provider_options}"',
            "wsrep-sst-method=rsync",
            f"wsrep-sst-receive-address={HOST}:{self.ports.sst}",
            "",
        ]
        self.option_file.write_text("\n".join(lines))

    def _launch(self, extra: tuple[str, ...] = ()) -> None:
        """Spawn the server in a process group of its own, as the nodes' user."""
        server = find_server_binary()
        if server is None:
            raise GaleraError("no mariadbd found: run scripts/ensure-cluster")
        user = _run_as()
        with self.error_log.open("ab") as log:
            self._process = subprocess.Popen(
                [server, f"--defaults-file={self.option_file}", *extra],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
                **_as_user(user),
            )

    def _start_position(self, deadline: float) -> tuple[str, ...]:
        """After a kill, the last committed position InnoDB knows (see the module's docstring),
        so the node asks the cluster only for what follows it."""
        grastate = self.datadir / "grastate.dat"
        if not grastate.exists() or "seqno:   -1" not in grastate.read_text():
            return ()
        log = self.home / "recover.log"
        server = find_server_binary()
        assert server is not None
        result = subprocess.run(
            [server, f"--defaults-file={self.option_file}", "--wsrep-recover", f"--log-error={log}"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            timeout=max(deadline - time.monotonic(), 1.0), check=False, **_as_user(_run_as()),
        )
        found = _RECOVERED.findall(log.read_text(errors="replace")) if log.exists() else []
        if result.returncode != 0 or not found:
            raise GaleraError(f"Galera {self.name}: --wsrep-recover found no position (exit {result.returncode});"
                              f" {log}:\n{_log_tail(log)}")
        return (f"--wsrep-start-position={found[-1]}",)

    def failure(self, what: str) -> GaleraError:
        """An error naming this node and quoting the end of its error log."""
        return GaleraError(f"Galera {self.name} (port {self.port}) {what}; {self.error_log}:\n"
                           f"{_log_tail(self.error_log)}")


def _as_user(user: pwd.struct_passwd | None) -> dict[str, object]:
    """Popen's arguments that run a process as ``user`` (none: as ourselves)."""
    if user is None:
        return {}
    return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}


class GaleraCluster:
    """``size`` Galera nodes on free loopback ports; ``directory`` keeps their error logs."""

    def __init__(self, directory: Path, size: int = 3) -> None:
        self.directory = Path(directory)
        self.size = size
        self.nodes: list[GaleraNode] = []
        self._home: Path | None = None

    @property
    def addresses(self) -> list[tuple[str, int]]:
        """Every node's (host, MySQL port)."""
        return [node.address for node in self.nodes]

    def url(self, database: str, nodes: list[int] | None = None) -> str:
        """A database URL naming several nodes (all by default): mysql://root@h1:p1,h2:p2/db."""
        chosen = [self.nodes[i] for i in (range(self.size) if nodes is None else nodes)]
        hosts = ",".join(f"{HOST}:{node.port}" for node in chosen)
        return f"mysql://root@{hosts}/{quote(database, safe='')}"

    def node_url(self, index: int, database: str) -> str:
        """A database URL naming one node."""
        return self.url(database, [index])

    def start(self, timeout: float = START_TIMEOUT) -> None:
        """Initialise node 0, bootstrap the cluster on it, and have the others join by state
        transfer; returns once every node is Synced in a cluster of ``size``."""
        deadline = time.monotonic() + timeout
        self.directory.mkdir(parents=True, exist_ok=True)
        user = _run_as()
        # Nodes run as another user under root, who cannot reach pytest's directories.
        self._home = Path(tempfile.mkdtemp(prefix="tornado_chat-galera-")) if user else self.directory
        ports = free_ports(4 * self.size)
        self.nodes = [
            GaleraNode(self, i, self._home / f"node{i}", _Ports(*ports[4 * i:4 * i + 4]))
            for i in range(self.size)
        ]
        gcomm = "gcomm://" + ",".join(f"{HOST}:{node.ports.gmcast}" for node in self.nodes)
        for node in self.nodes:
            node.datadir.mkdir(parents=True)
            node.write_option_file(gcomm)
        if user is not None:
            for path in [self._home, *self._home.rglob("*")]:
                os.chown(path, user.pw_uid, user.pw_gid)
        try:
            first = self.nodes[0]
            self._initialise(first, deadline)
            first._launch(extra=("--wsrep-new-cluster",))
            self._wait_synced([first], 1, deadline)
            self._allow_root_over_tcp(first)
            for count, node in enumerate(self.nodes[1:], start=2):
                node._launch()
                self._wait_synced([node], count, deadline)
            self._wait_synced(self.nodes, self.size, deadline)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Every node gone (SIGTERM, then SIGKILL), even after a failure; keeps the error logs."""
        for node in self.nodes:
            if node.running:
                os.kill(node.pid, signal.SIGTERM)
        for node in reversed(self.nodes):
            node.stop()
        if self._home is not None and self._home != self.directory:
            for node in self.nodes:
                for log in (node.error_log, node.home / "recover.log"):
                    if log.exists():
                        shutil.copyfile(log, self.directory / f"{node.name}-{log.name}")
            shutil.rmtree(self._home, ignore_errors=True)
        self._home = None

    def _running_count(self) -> int:
        return sum(node.running for node in self.nodes)

    def _initialise(self, node: GaleraNode, deadline: float) -> None:
        """The system tables, on node 0 only (the others receive them by state transfer)."""
        server = find_server_binary()
        install_db = find_install_db(server) if server else None
        if install_db is None:
            raise GaleraError("no mariadbd or mariadb-install-db found: run scripts/ensure-cluster")
        log = node.home / "install-db.log"
        with log.open("wb") as out:
            result = subprocess.run(
                [install_db, f"--defaults-file={node.option_file}", "--auth-root-authentication-method=normal",
                 "--skip-test-db", "--wsrep-on=OFF"],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                timeout=max(deadline - time.monotonic(), 1.0), check=False, **_as_user(_run_as()),
            )
        if result.returncode != 0:
            raise GaleraError(f"mariadb-install-db for Galera {node.name} failed (exit {result.returncode}); "
                              f"{log}:\n{_log_tail(log)}")

    @staticmethod
    def _allow_root_over_tcp(node: GaleraNode) -> None:
        """install-db's root@localhost is for the socket; the application logs in over TCP from
        127.0.0.1. The grant replicates to the nodes that join."""
        conn = node.connect()
        try:
            with conn.cursor() as cur:
                for host in ("127.0.0.1", "%"):
                    cur.execute(f"CREATE USER IF NOT EXISTS 'root'@'{host}'")
                    cur.execute(f"GRANT ALL PRIVILEGES ON *.* TO 'root'@'{host}' WITH GRANT OPTION")
        finally:
            conn.close()

    def _wait_synced(self, nodes: list[GaleraNode], size: int, deadline: float) -> None:
        """Poll until every one of ``nodes`` is Synced in a primary component of ``size``."""
        pending = list(nodes)
        last: dict[str, str] = {}
        while pending:
            node = pending[0]
            if not node.running:
                code = node._process.poll() if node._process else None
                raise node.failure(f"exited (code {code}) while starting or joining")
            try:
                state = node.status()
            except pymysql.err.OperationalError:
                state = {}  # still starting, or receiving its state
            last = state
            if (state.get("wsrep_local_state_comment") == "Synced" and state.get("wsrep_ready") == "ON"
                    and state.get("wsrep_cluster_status") == "Primary"
                    and state.get("wsrep_cluster_size") == str(size)):
                pending.pop(0)
                continue
            if time.monotonic() >= deadline:
                seen = {key: last.get(key) for key in ("wsrep_local_state_comment", "wsrep_cluster_size",
                                                      "wsrep_cluster_status", "wsrep_ready")}
                raise node.failure(f"was not Synced in a cluster of {size} in time (last seen: {seen})")
            time.sleep(0.2)
