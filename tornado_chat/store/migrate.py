"""Versioned migrations: the numbered SQL files of migrations/, each applied once per database.

A deployed database is never recreated, so its schema changes by steps: ``0001_initial.sql``
is the schema as it stood when migrations began, and each later file changes it. ``migrate``
runs at start-up: it applies, in number order, the files that the database's
``schema_migrations`` table does not record yet, and records each one right after it is
applied. Processes that start together take turns on a lock named after the database, so
each migration is applied exactly once.

MariaDB and MySQL commit every DDL statement (CREATE, ALTER, DROP...) on its own; it cannot
be rolled back. A migration that fails part-way keeps its DDL statements before the failing
one, is not recorded, and stops the start-up: a person looks at the database, completes or
undoes those statements, fixes the file and starts again. One DDL statement per migration, or
statements that may run twice (MariaDB's ``ADD COLUMN IF NOT EXISTS`` and the like), keep that
easy. A migration of data statements only (INSERT, UPDATE, DELETE) is all or nothing: its
statements and its record are one transaction.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path

import aiomysql
import pymysql

from ..config import PROJECT_ROOT, DatabaseTimeouts, DatabaseURL
from ..models import utcnow
from .database import answered_within, is_node_failure

log = logging.getLogger(__name__)

MIGRATIONS_DIR = PROJECT_ROOT / "migrations"
# How long a starting process waits for another one's migrations: long enough for an
# ALTER TABLE of a big table. A process that dies holding the lock releases it with its connection.
LOCK_TIMEOUT = 600.0
_FILE_NAME = re.compile(r"(\d{4})_[a-z0-9_]+\.sql")
_LOCK_PREFIX = "tornado_chat.migrate."
_MAX_LOCK_NAME = 64  # MySQL refuses longer GET_LOCK names
_CREATE_SCHEMA_MIGRATIONS = """
    CREATE TABLE IF NOT EXISTS schema_migrations (
        version    INT NOT NULL,
        name       VARCHAR(255) NOT NULL,
        applied_at DATETIME(3) NOT NULL,
        PRIMARY KEY (version)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
"""
# One SQL token at a time, so that quotes and comments are known before a ';' ends a statement:
# strings and quoted names (a doubled quote, or a backslash, escapes within them), comments
# (MySQL's rules: '-- ' needs the space; '#' and '/* */'), ';', a quote or comment never closed,
# then anything else.
_TOKEN = re.compile(
    r"""
    (?P<quoted> '(?:[^'\\]|\\.|'')*' | "(?:[^"\\]|\\.|"")*" | `(?:[^`]|``)*` )
    | (?P<comment> --(?=\s|$)[^\n]* | \#[^\n]* | /\*.*?\*/ )
    | (?P<end> ; )
    | (?P<unclosed> ['"`] | /\* )
    | [^'"`\#;/-]+ | .
    """,
    re.VERBOSE | re.DOTALL,
)


class MigrationError(Exception):
    """The migrations cannot run as they are; the message says what a person must fix."""


@dataclass(frozen=True)
class Migration:
    """One file of migrations/: its number (the order it runs in), file name and statements."""

    number: int
    name: str
    statements: tuple[str, ...]


def split_statements(sql: str) -> list[str]:
    """The statements of an SQL script, comments dropped.

    A ';' ends a statement only outside string literals, quoted names and comments, so a
    migration may store text such as 'a; b -- c'. Backslash escapes are read as MariaDB's
    default SQL mode reads them. There is no DELIMITER: stored programs, whose bodies hold
    ';', cannot be written in a migration."""
    statements: list[str] = []
    current: list[str] = []
    for token in _TOKEN.finditer(sql):
        kind = token.lastgroup
        if kind == "unclosed":
            line = sql.count("\n", 0, token.start()) + 1
            raise MigrationError(f"line {line}: this {token.group()} is never closed")
        if kind == "end":
            statements.append("".join(current).strip())
            current = []
        elif kind == "comment":
            current.append(" ")
        else:
            current.append(token.group())
    statements.append("".join(current).strip())
    return [statement for statement in statements if statement]


def migration_files(folder: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migrations of ``folder`` in number order, checked before any is applied.

    They must be numbered 1, 2, 3... with no gap and no number twice: a gap means a file
    was lost, and a twin that two branches each added "the next" migration; applying either
    would leave databases with different schemas. A misnamed .sql file is refused rather
    than skipped, so that no migration is silently left out."""
    if not folder.is_dir():
        raise MigrationError(f"no migrations folder at {folder}: deploy migrations/ with the code")
    migrations: list[Migration] = []
    for path in sorted(folder.glob("*.sql")):
        match = _FILE_NAME.fullmatch(path.name)
        if match is None:
            raise MigrationError(
                f"{path}: name a migration NNNN_what_it_does.sql (four digits, then lower-case letters, digits, _)"
            )
        try:
            statements = split_statements(path.read_text(encoding="utf-8"))
        except MigrationError as exc:
            raise MigrationError(f"{path}, {exc}") from None
        if not statements:
            raise MigrationError(f"{path} has no SQL statement: write its change, or delete it")
        migrations.append(Migration(int(match[1]), path.name, tuple(statements)))
    if not migrations:
        raise MigrationError(f"no migrations in {folder}: deploy migrations/ with the code")
    for previous, migration in zip(migrations, migrations[1:], strict=False):
        if migration.number == previous.number:
            raise MigrationError(
                f"{previous.name} and {migration.name} in {folder} have the same number: "
                f"renumber the one no database has applied to {migrations[-1].number + 1:04d}"
            )
    for expected, migration in enumerate(migrations, start=1):
        if migration.number != expected:
            raise MigrationError(
                f"migration {expected} is missing in {folder} (next is {migration.name}): "
                "restore it, or renumber the later ones if no database has applied them"
            )
    return migrations


async def migrate(
    url: DatabaseURL,
    connect_timeout: float = DatabaseTimeouts.connect,
    *,
    folder: Path = MIGRATIONS_DIR,
    lock_timeout: float = LOCK_TIMEOUT,
) -> list[str]:
    """Bring the database up to date with ``folder``'s migrations; the names of those applied.

    Creates the database when missing (utf8mb4), so a new deployment needs nothing done by
    hand. Every step runs under the database's migration lock: processes that start together
    wait for each other, and the later ones find the migrations recorded. Refuses, before
    changing anything, a folder with a gap or a twin (``migration_files``) and a database that
    records a migration this code does not have: newer code has migrated it, and older code
    must not run against a schema it does not know."""
    migrations = migration_files(folder)
    conn = await _connect_to_one_node(url, connect_timeout)
    try:
        async with conn.cursor() as cur:
            await cur.execute("SET SESSION sql_notes = 0")  # "already exists" is the point, not news
            lock = lock_name(url.database)
            await cur.execute("SELECT GET_LOCK(%s, %s)", (lock, lock_timeout))
            (locked,) = await cur.fetchone()
            if locked != 1:
                raise MigrationError(
                    f"waited {lock_timeout:g} s for another process to finish migrating database "
                    f"{url.database!r} (lock {lock!r}); see SHOW PROCESSLIST, then start again"
                )
            try:
                return await _apply_pending(conn, cur, url.database, migrations)
            finally:
                # Closing the connection releases the lock too, should this fail.
                with contextlib.suppress(pymysql.err.Error, OSError):
                    await cur.execute("DO RELEASE_LOCK(%s)", (lock,))
    finally:
        conn.close()


async def _connect_to_one_node(url: DatabaseURL, connect_timeout: float) -> aiomysql.Connection:
    """A connection to the first node that answers, in the order of their addresses, not the
    URL's: GET_LOCK is a node's own, not the cluster's, so processes that start together must all
    take the migration lock on the same node, even where their URLs list the nodes differently."""
    nodes = sorted(url.nodes(), key=lambda node: (node.host, node.port))
    for node in nodes:
        try:
            async with answered_within(connect_timeout):
                return await aiomysql.connect(
                    autocommit=True, connect_timeout=connect_timeout, **node.connect_kwargs(with_database=False)
                )
        except (pymysql.err.OperationalError, OSError) as exc:
            if node is nodes[-1] or not is_node_failure(exc):
                raise
            log.warning("database node %s:%s does not answer (%s); migrating through the next",
                        node.host, node.port, exc)
    raise AssertionError("unreachable: the last node's failure is raised")


def lock_name(database: str) -> str:
    """The name of the database's migration lock (for IS_USED_LOCK when a start-up waits).
    One per database, since GET_LOCK names are shared by the whole server; a hash stands
    for a name too long for MySQL (MariaDB takes any length)."""
    name = _LOCK_PREFIX + database
    if len(name) > _MAX_LOCK_NAME:
        name = _LOCK_PREFIX + hashlib.sha256(database.encode()).hexdigest()[: _MAX_LOCK_NAME - len(_LOCK_PREFIX)]
    return name


async def _apply_pending(
    conn: aiomysql.Connection, cur: aiomysql.Cursor, database: str, migrations: list[Migration]
) -> list[str]:
    """Under the lock: create what is missing, refuse a newer database, apply the rest in order."""
    await cur.execute(
        f"CREATE DATABASE IF NOT EXISTS `{database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
    )
    await cur.execute(f"USE `{database}`")
    await cur.execute(_CREATE_SCHEMA_MIGRATIONS)
    await cur.execute("SELECT version, name FROM schema_migrations ORDER BY version")
    recorded = {version: name for version, name in await cur.fetchall()}
    known = {migration.number for migration in migrations}
    unknown = [f"{version:04d} ({name})" for version, name in recorded.items() if version not in known]
    if unknown:
        raise MigrationError(
            f"database {database!r} records migrations this code does not have: {', '.join(unknown)}. "
            "Newer code has migrated it: run that code, or newer, against it"
        )
    applied = []
    for migration in migrations:
        if migration.number not in recorded:
            await _apply(conn, cur, migration)
            applied.append(migration.name)
    return applied


async def _apply(conn: aiomysql.Connection, cur: aiomysql.Cursor, migration: Migration) -> None:
    """Run one migration's statements and record it, in one transaction (which DDL commits early)."""
    started = time.monotonic()
    done = 0
    try:
        await conn.begin()
        for statement in migration.statements:
            await cur.execute(statement)
            done += 1
        await cur.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (%s, %s, %s)",
            (migration.number, migration.name, utcnow()),
        )
        await conn.commit()
    except pymysql.err.Error as exc:
        with contextlib.suppress(pymysql.err.Error, OSError):
            await conn.rollback()
        where = (
            f"statement {done + 1} of {len(migration.statements)}"
            if done < len(migration.statements) else "its record in schema_migrations"
        )
        raise MigrationError(
            f"migration {migration.name} failed at {where}: {exc.args[-1]}. It is not recorded and no later "
            "migration was applied; DDL statements before the failing one stay committed (MySQL cannot roll "
            "them back): check the database, fix the file, start again"
        ) from exc
    log.info("applied migration %s in %.2f s", migration.name, time.monotonic() - started)
