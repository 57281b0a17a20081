"""A private MariaDB/MySQL server for development and tests.

Used when no database URL is configured, so `make run` and the test suite work on a
fresh machine without touching (or depending on) the system's database server.
The server listens on a unix socket only, so it never competes for a TCP port.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Self
from urllib.parse import quote

import pymysql

_SERVER_NAMES = ("mariadbd", "mysqld")
_SERVER_DIRS = ("/usr/sbin", "/usr/libexec", "/usr/local/sbin", "/usr/local/libexec")
_INSTALL_DB_NAMES = ("mariadb-install-db", "mysql_install_db")
# sun_path is 108 bytes including the terminating NUL.
_MAX_SOCKET_PATH = 107
_SOCKET_NAME = "mysqld.sock"
_PID_NAME = "mysqld.pid"
_ERROR_LOG_NAME = "error.log"
_INSTALL_LOG_NAME = "install-db.log"
# A first start creates the system tables (slow on a busy machine); a stop flushes InnoDB.
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
# Small footprint for a dev/test box; shared by bootstrap and server so they agree (and public
# for the test suite's Galera nodes, so they run with the same settings).
# Durable: each commit's redo log is flushed to disk before the commit returns, so a message
# acknowledged with 201 survives a crash of the operating system too. Concurrent commits share
# one flush (InnoDB's group commit), which is what keeps this affordable under load (measured
# in bench/writes.py).
SETTINGS = (
    "--innodb-buffer-pool-size=64M",
    "--innodb-log-file-size=48M",
    "--innodb-flush-log-at-trx-commit=1",
    "--max-connections=1000",
    "--max-allowed-packet=64M",  # image messages are stored as blobs of up to 14 MiB
    "--character-set-server=utf8mb4",
    "--collation-server=utf8mb4_unicode_ci",
    # search: every word in the full-text index, short ones and common ones alike
    "--innodb-ft-min-token-size=1",
    "--innodb-ft-enable-stopword=OFF",
    "--skip-log-bin",
)
_NO_SERVER_MESSAGE = (
    "No MariaDB/MySQL server found: install the mariadb-server-core package "
    "(Debian: apt-get install mariadb-server-core) or set CHAT_DATABASE_URL"
)


class DBServerError(Exception):
    """The embedded server could not be set up; the message is one actionable line."""


def find_server_binary() -> str | None:
    """Return the path of mariadbd/mysqld, looking beyond PATH because sbin often isn't on it."""
    for name in _SERVER_NAMES:
        found = shutil.which(name)
        if found:
            return found
    for directory in _SERVER_DIRS:
        for name in _SERVER_NAMES:
            candidate = os.path.join(directory, name)
            if os.access(candidate, os.X_OK):
                return candidate
    return None


def find_install_db(server: str) -> str | None:
    """Find the install-db script, preferring the one installed beside the server."""
    sibling_bin = os.path.join(os.path.dirname(os.path.dirname(server)), "bin")
    for name in _INSTALL_DB_NAMES:
        candidate = os.path.join(sibling_bin, name)
        if os.access(candidate, os.X_OK):
            return candidate
    for name in _INSTALL_DB_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def _one_line_tail(path: Path, offset: int = 0, lines: int = 3) -> str:
    """Summarise a log as one line, preferring error lines since those explain failures."""
    try:
        with path.open("rb") as log:
            log.seek(offset)
            text = log.read().decode("utf-8", "replace")
    except OSError:
        return f"(no log at {path})"
    entries = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in entries if "ERROR" in line]
    return " | ".join((errors or entries)[-lines:]) or f"(empty log {path})"


def _live_server_pid(pid_file: Path, datadir: str) -> int | None:
    """Return the pid named by pid_file if that process is a server running on datadir.

    A pid file left behind by a crash may name a pid since reused by another program
    (containers reuse small pids), so on Linux the process's command line must name
    both a server binary and this data directory.
    """
    try:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return None if os.path.isdir("/proc") else pid
    except OSError:
        return pid
    is_server = any(name.encode() in cmdline for name in _SERVER_NAMES)
    return pid if is_server and os.fsencode(datadir) in cmdline else None


def _socket_answers(path: str) -> bool:
    """Whether something listens on a unix socket; a leftover socket file from a crash won't."""
    with socket.socket(socket.AF_UNIX) as sock:
        try:
            sock.connect(path)
        except OSError:
            return False
    return True


def _server_using(datadir: str) -> str | None:
    """Describe a server already running on datadir, if any.

    Besides the pid file, check the socket: otherwise a server whose pid file was lost
    would answer our readiness probe in place of the one we start.
    """
    pid = _live_server_pid(Path(datadir, _PID_NAME), datadir)
    if pid is not None:
        return f"pid {pid}"
    socket_path = os.path.join(datadir, _SOCKET_NAME)
    return f"answering on {socket_path}" if _socket_answers(socket_path) else None


class EmbeddedMariaDB:
    """A MariaDB server process owning one data directory; data persists across restarts."""

    def __init__(self, datadir: str | os.PathLike, settings: Sequence[str] = ()) -> None:
        """``settings``: server options after the defaults, which they override (a benchmark
        compares ``--innodb-flush-log-at-trx-commit=2`` with the durable default)."""
        self.datadir = os.path.abspath(os.fspath(datadir))
        self.settings = tuple(settings)
        self._proc: subprocess.Popen[bytes] | None = None
        self._socket: str | None = None
        self._socket_dir: str | None = None

    @property
    def socket_path(self) -> str:
        """Absolute path of the server's unix socket (known once start() has run)."""
        if self._socket is None:
            raise DBServerError(f"MariaDB for {self.datadir} is not running: call start() first")
        return self._socket

    @property
    def pid(self) -> int:
        """The server's process id (a test stops it with SIGSTOP to play a hung server)."""
        if self._proc is None:
            raise DBServerError(f"MariaDB for {self.datadir} is not running: call start() first")
        return self._proc.pid

    def url(self, database: str) -> str:
        """Database URL for the running server, e.g. for CHAT_DATABASE_URL-style config."""
        return (
            f"mysql://root@localhost/{quote(database, safe='')}"
            f"?unix_socket={quote(self.socket_path, safe='/')}"
        )

    def start(self, timeout: float = START_TIMEOUT) -> None:
        """Initialise the datadir if needed, start the server and wait until it accepts logins."""
        deadline = time.monotonic() + timeout
        server = find_server_binary()
        if server is None:
            raise DBServerError(_NO_SERVER_MESSAGE)
        running = _server_using(self.datadir)
        if running is not None:
            raise DBServerError(
                f"MariaDB data directory {self.datadir} is already in use by a running server "
                f"({running}): stop it or use another data directory"
            )
        datadir = Path(self.datadir)
        datadir.mkdir(parents=True, exist_ok=True)
        if not (datadir / "mysql").is_dir():
            self._initialise(server, deadline)

        error_log = datadir / _ERROR_LOG_NAME
        log_offset = error_log.stat().st_size if error_log.exists() else 0
        try:
            self._socket = self._choose_socket()
            self._proc = self._spawn(server, self._socket, error_log)
            self._wait_ready(self._proc, self._socket, deadline, error_log, log_offset)
        except BaseException:
            self.stop()
            raise

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Shut the server down cleanly (SIGTERM), killing it only if it will not stop."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._socket_dir is not None:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
            self._socket_dir = None
        self._socket = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _initialise(self, server: str, deadline: float) -> None:
        """Create the system tables, with a password-less root reachable over the socket."""
        install_db = find_install_db(server)
        if install_db is None:
            raise DBServerError(
                "No mariadb-install-db found: install the mariadb-server-core package "
                "(Debian: apt-get install mariadb-server-core) or set CHAT_DATABASE_URL"
            )
        args = [
            install_db,
            "--no-defaults",
            f"--datadir={self.datadir}",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
            *SETTINGS, *self.settings,
        ]
        if os.geteuid() == 0:
            args.append("--user=root")  # own the files as the user the server will run as
        install_log = Path(self.datadir) / _INSTALL_LOG_NAME
        with install_log.open("wb") as log:
            try:
                result = subprocess.run(
                    args,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    timeout=max(deadline - time.monotonic(), 1.0),
                    check=False,
                )
            except subprocess.TimeoutExpired:
                returncode = None
            else:
                returncode = result.returncode
        if returncode != 0:
            outcome = "timed out" if returncode is None else f"failed (exit {returncode})"
            raise DBServerError(
                f"Initialising MariaDB data directory {self.datadir} {outcome}; remove it before "
                f"retrying; {install_log}: {_one_line_tail(install_log)}"
            )

    def _choose_socket(self) -> str:
        """Put the socket in the datadir unless its path is too long for a unix socket."""
        socket_path = os.path.join(self.datadir, _SOCKET_NAME)
        if len(os.fsencode(socket_path)) <= _MAX_SOCKET_PATH:
            return socket_path
        self._socket_dir = tempfile.mkdtemp(prefix="tcdb-", dir="/tmp")
        return os.path.join(self._socket_dir, _SOCKET_NAME)

    def _spawn(self, server: str, socket_path: str, error_log: Path) -> subprocess.Popen[bytes]:
        """Launch the server in its own session so a terminal Ctrl-C leaves it to stop()."""
        args = [
            server,
            "--no-defaults",
            f"--datadir={self.datadir}",
            f"--socket={socket_path}",
            "--skip-networking",
            f"--pid-file={os.path.join(self.datadir, _PID_NAME)}",
            f"--log-error={error_log}",
            *SETTINGS, *self.settings,
        ]
        if os.geteuid() == 0:
            args.append("--user=root")  # mariadbd refuses to run as root unless told to
        # Failures before the error log is opened (e.g. a rejected option) go to stderr.
        with error_log.open("ab") as log:
            return subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )

    def _wait_ready(
        self,
        proc: subprocess.Popen[bytes],
        socket_path: str,
        deadline: float,
        error_log: Path,
        log_offset: int,
    ) -> None:
        """Poll with a real login, since the socket exists before the server accepts one."""
        while True:
            returncode = proc.poll()
            if returncode is not None:
                raise DBServerError(
                    f"MariaDB exited (code {returncode}) while starting on {self.datadir}; "
                    f"{error_log}: {_one_line_tail(error_log, log_offset)}"
                )
            try:
                pymysql.connect(unix_socket=socket_path, user="root", connect_timeout=5).close()
                return
            except pymysql.err.OperationalError as exc:
                # Codes >= 2000 are the client's "cannot connect (yet)"; server errors
                # such as access denied will not go away by waiting.
                if exc.args and isinstance(exc.args[0], int) and exc.args[0] < 2000:
                    raise DBServerError(
                        f"MariaDB on {self.datadir} refused root login over {socket_path}: "
                        f"{exc.args[-1]}"
                    ) from exc
            if time.monotonic() >= deadline:
                raise DBServerError(
                    f"MariaDB did not accept connections within the timeout on {self.datadir}; "
                    f"{error_log}: {_one_line_tail(error_log, log_offset)}"
                )
            time.sleep(0.1)
