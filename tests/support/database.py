"""The test database: a private MariaDB server (or the one CHAT_TEST_DATABASE_URL names),
throwaway databases on it, and direct SQL to check what the application stored."""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pymysql

from tornado_chat.config import DatabaseURL
from tornado_chat.dbserver import EmbeddedMariaDB

INIT_LOCK = Path(tempfile.gettempdir()) / "tornado_chat-test-db-init.lock"


@contextlib.contextmanager
def database_server(make_directory: Callable[[], Path]) -> Iterator[Callable[[str], DatabaseURL]]:
    """A function giving the URL of a named database on the test server. A private server
    is started in a directory from ``make_directory`` (asked for only then), and stopped after."""
    external = os.environ.get("CHAT_TEST_DATABASE_URL")
    if external:
        base = DatabaseURL.parse(external)
        yield lambda name: dataclasses.replace(base, database=name)
        return
    server = EmbeddedMariaDB(make_directory())
    # Test workers (pytest -n) each start a server of their own; mariadb-install-db runs
    # that overlap fail ("Unknown table 'mysql.tmp_user_sys'"), so they take turns.
    with open(INIT_LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        server.start()
    try:
        yield lambda name: DatabaseURL.parse(server.url(name))
    finally:
        server.stop()


def connect(url: DatabaseURL, with_database: bool = True) -> pymysql.Connection:
    """A connection of the test's own, outside the application's pool, each statement committed at once."""
    kwargs = url.connect_kwargs(with_database)
    if "db" in kwargs:
        kwargs["database"] = kwargs.pop("db")
    return pymysql.connect(autocommit=True, **kwargs)


def drop_database(url: DatabaseURL) -> None:
    """Drop a throwaway database (gone already is fine)."""
    conn = connect(url, with_database=False)
    try:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{url.database}`")
    finally:
        conn.close()


def query(url: DatabaseURL, sql: str, args: Any = None) -> list[tuple[Any, ...]]:
    """Read the database directly, as a reviewer would, to check what was stored."""
    conn = connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, args)
            return list(cur.fetchall())
    finally:
        conn.close()


class StatementCounter:
    """The server's count of client statements, read over one connection of its own:
    each reading adds exactly one (itself)."""

    def __init__(self, url: DatabaseURL) -> None:
        self._conn = connect(url)

    def __call__(self) -> int:
        with self._conn.cursor() as cur:
            cur.execute("SHOW GLOBAL STATUS LIKE 'Questions'")
            return int(cur.fetchone()[1])

    def since(self, before: int) -> int:
        """Statements others sent since ``before`` was read."""
        return self() - before - 1

    def close(self) -> None:
        self._conn.close()
