"""Every SQL statement of the service, behind one class.

The pool runs in autocommit mode with READ COMMITTED isolation: a statement
always sees what other connections and processes have committed, so a waiter
woken after a commit that re-reads gets the new rows, never a stale snapshot.
Writes that must be atomic use an explicit transaction (``_transaction``).

Every call is bounded (``DatabaseTimeouts``): the wait for a pooled connection,
and the whole call, on the client; each statement, on the server too. A call
that fails for the database's sake (gone, hung, too slow) raises
``DatabaseUnavailable``, which the handlers answer with 503; its connection is
closed, never handed back to the pool in an unknown state.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import math
import re
import secrets
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiomysql
import pymysql
from pymysql.constants import CR

from .config import PROJECT_ROOT, DatabaseTimeouts, DatabaseURL
from .images import ProcessedImage
from .models import Group, ImageRef, Membership, Message, User, utcnow

log = logging.getLogger(__name__)

SCHEMA_PATH = PROJECT_ROOT / "schema.sql"
ER_DUP_ENTRY = 1062
# Failures of the database rather than of the request (lost or refused connections, a
# server's timeout, a deadlock, our deadline): answered with 503, their connection closed.
_CONNECTION_FAULTS = (
    pymysql.err.OperationalError, pymysql.err.InterfaceError, pymysql.err.InternalError, TimeoutError, OSError,
)


class StorageError(Exception):
    """Base of the domain errors storage reports."""


class UsernameTaken(StorageError):
    pass


class GroupExists(StorageError):
    pass


class NoSuchGroup(StorageError):
    pass


class NotMember(StorageError):
    pass


class DatabaseUnavailable(StorageError):
    """The database did not answer in time, or the connection to it failed: try again later."""


def schema_statements(path: Path = SCHEMA_PATH) -> list[str]:
    """The statements of schema.sql, comments dropped."""
    text = re.sub(r"--[^\n]*", "", path.read_text(encoding="utf-8"))
    return [s.strip() for s in text.split(";") if s.strip()]


@asynccontextmanager
async def _answered_within(seconds: float) -> AsyncIterator[None]:
    """For the connections made at start-up, outside the pool: a server that takes the socket
    but never answers fails like one that refuses it (aiomysql's connect_timeout only covers
    opening the socket, not the handshake)."""
    try:
        async with asyncio.timeout(seconds):
            yield
    except TimeoutError as exc:
        raise pymysql.err.OperationalError(
            CR.CR_CONN_HOST_ERROR, f"the database did not answer within {seconds:g} s"
        ) from exc


async def ensure_database(url: DatabaseURL, connect_timeout: float = DatabaseTimeouts.connect) -> None:
    """Create the database when missing and apply the (idempotent) schema."""
    async with _answered_within(connect_timeout):
        conn = await aiomysql.connect(
            autocommit=True, connect_timeout=connect_timeout, **url.connect_kwargs(with_database=False)
        )
    try:
        async with conn.cursor() as cur:
            await cur.execute("SET SESSION sql_notes = 0")  # "already exists" is the point, not news
            await cur.execute(
                f"CREATE DATABASE IF NOT EXISTS `{url.database}` "
                "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
            )
            await cur.execute(f"USE `{url.database}`")
            for statement in schema_statements():
                await cur.execute(statement)
    finally:
        conn.close()


_USER_COLUMNS = "u.id, u.username"
_MESSAGE_COLUMNS = (
    "m.id, m.group_id, m.seq, m.kind, m.body, m.created_at, m.client_id, u.id, u.username, "
    "i.image_key, i.width, i.height"
)
_MESSAGE_FROM = "messages m JOIN users u ON u.id = m.user_id LEFT JOIN images i ON i.message_id = m.id"


def _hex_literal(data: bytes) -> str:
    """Bytes as an SQL hex literal, X'..': hex digits only, so nothing to escape. Escaping a
    blob parameter takes aiomysql's pure-Python path (over 100 ms for 3 MB, on the event
    loop); bytes.hex() does it in C in a few milliseconds."""
    return f"X'{data.hex()}'"


def _message(row: Sequence[Any]) -> Message:
    return Message(
        id=row[0],
        group_id=row[1],
        seq=row[2],
        kind=row[3],
        text=row[4],
        created_at=row[5],
        client_id=row[6],
        user=User(row[7], row[8]),
        image=ImageRef(row[9], row[10], row[11]) if row[9] else None,
    )


@dataclass(frozen=True)
class PoolUse:
    """Connections of the pool: ``size`` open (``free`` idle, ``in_use`` lent out) of at most ``max``;
    ``waiting``: statements waiting for one."""

    size: int
    free: int
    in_use: int
    max: int
    waiting: int


async def session_setup(url: DatabaseURL, timeouts: DatabaseTimeouts) -> str:
    """The statement every new connection runs: READ COMMITTED, and the server's own limit on
    a statement's time, under the names this server knows: MariaDB's ``max_statement_time``
    (seconds, any statement) or MySQL's ``max_execution_time`` (milliseconds, SELECTs only)."""
    async with _answered_within(timeouts.connect):
        conn = await aiomysql.connect(connect_timeout=timeouts.connect, **url.connect_kwargs())
    try:
        async with _answered_within(timeouts.statement), conn.cursor() as cur:
            await cur.execute(
                "SHOW VARIABLES WHERE Variable_name IN "
                "('transaction_isolation', 'tx_isolation', 'max_statement_time', 'max_execution_time')"
            )
            known = {row[0] for row in await cur.fetchall()}
    finally:
        conn.close()
    isolation = "transaction_isolation" if "transaction_isolation" in known else "tx_isolation"
    settings = [f"SESSION {isolation} = 'READ-COMMITTED'"]
    if "max_statement_time" in known:
        settings.append(f"SESSION max_statement_time = {timeouts.statement:.3f}")
    elif "max_execution_time" in known:
        settings.append(f"SESSION max_execution_time = {math.ceil(timeouts.statement * 1000)}")
    return "SET " + ", ".join(settings)


class Storage:
    """The MySQL side of the service: users, sessions, groups, messages, presence."""

    def __init__(self, pool: aiomysql.Pool, timeouts: DatabaseTimeouts) -> None:
        self._pool = pool
        self._timeouts = timeouts
        self._available = True
        self._waiting = 0  # acquisitions not yet given a connection

    @classmethod
    async def connect(
        cls, url: DatabaseURL, pool_size: int = 20, timeouts: DatabaseTimeouts | None = None
    ) -> Storage:
        timeouts = timeouts or DatabaseTimeouts()
        init_command = await session_setup(url, timeouts)
        async with _answered_within(timeouts.acquire):
            pool = await aiomysql.create_pool(
                minsize=1,
                maxsize=pool_size,
                autocommit=True,
                init_command=init_command,
                pool_recycle=3600,
                connect_timeout=timeouts.connect,
                **url.connect_kwargs(),
            )
        return cls(pool, timeouts)

    async def close(self) -> None:
        self._pool.close()
        await self._pool.wait_closed()

    def pool_use(self) -> PoolUse:
        """The pool right now, for /metrics: a busy pool shows as requests waiting here."""
        size, free = self._pool.size, self._pool.freesize
        return PoolUse(size=size, free=free, in_use=size - free, max=self._pool.maxsize, waiting=self._waiting)

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[aiomysql.Connection]:
        """A pooled connection for one call, within the call's deadline.

        aiomysql's ``acquire`` has no timeout of its own (and holds the pool's lock while
        it connects), so it runs under one here; a connection whose call failed for the
        database's sake or ran out of time is closed before it goes back (a cancelled
        query leaves unread packets behind), so the pool only ever keeps clean ones.
        """
        self._waiting += 1
        try:
            async with asyncio.timeout(self._timeouts.acquire):
                conn = await self._pool.acquire()
        except _CONNECTION_FAULTS as exc:
            raise self._unavailable("no database connection", exc) from exc
        finally:
            self._waiting -= 1
        try:
            async with asyncio.timeout(self._timeouts.statement):
                yield conn
        except _CONNECTION_FAULTS as exc:
            conn.close()
            raise self._unavailable("a database call failed", exc) from exc
        except (StorageError, pymysql.err.MySQLError):
            raise  # an answer about the data: the connection is in a known state
        except BaseException:
            conn.close()  # cancelled, or a bug: the connection's state is unknown
            raise
        finally:
            self._pool.release(conn)
        if not self._available:
            self._available = True
            log.info("the database answers again")

    def _unavailable(self, what: str, exc: BaseException) -> DatabaseUnavailable:
        """The error to raise; the first of an outage is logged, in one line."""
        reason = "timed out" if isinstance(exc, TimeoutError) else f"{type(exc).__name__}: {exc}"
        if self._available:
            self._available = False
            log.warning("the database is unavailable (%s: %s); answering 503 until it is back", what, reason)
        return DatabaseUnavailable(f"{what}: {reason}")

    @asynccontextmanager
    async def _cursor(self) -> AsyncIterator[aiomysql.Cursor]:
        async with self._connection() as conn, conn.cursor() as cur:
            yield cur

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiomysql.Cursor]:
        """A transaction, committed when the block ends. A domain error rolls it back; any
        other failure closes the connection, which makes the server roll it back (a rollback
        on a hung connection would hang too)."""
        async with self._connection() as conn:
            await conn.begin()
            try:
                async with conn.cursor() as cur:
                    yield cur
                await conn.commit()
            except (StorageError, pymysql.err.IntegrityError):
                await conn.rollback()
                raise

    async def _all(self, sql: str, args: Any = None) -> list[tuple[Any, ...]]:
        async with self._cursor() as cur:
            await cur.execute(sql, args)
            return list(await cur.fetchall())

    async def _one(self, sql: str, args: Any = None) -> tuple[Any, ...] | None:
        async with self._cursor() as cur:
            await cur.execute(sql, args)
            return await cur.fetchone()

    async def ping(self) -> None:
        await self._one("SELECT 1")

    # Users and sessions

    async def create_user(self, username: str, password_hash: str) -> User:
        try:
            async with self._cursor() as cur:
                await cur.execute(
                    "INSERT INTO users (username, password_hash, created_at) VALUES (%s, %s, %s)",
                    (username, password_hash, utcnow()),
                )
                return User(cur.lastrowid, username)
        except pymysql.err.IntegrityError as exc:
            if exc.args[0] == ER_DUP_ENTRY:
                raise UsernameTaken(username) from exc
            raise

    async def user_credentials(self, username: str) -> tuple[User, str] | None:
        row = await self._one("SELECT id, username, password_hash FROM users WHERE username = %s", (username,))
        return (User(row[0], row[1]), row[2]) if row else None

    async def create_session(self, user_id: int, token_hash: str) -> None:
        now = utcnow()
        await self._one(
            "INSERT INTO sessions (user_id, token_hash, created_at, last_used_at) VALUES (%s, %s, %s, %s)",
            (user_id, token_hash, now, now),
        )

    async def session_user(
        self, token_hash: str, used_since: datetime.datetime
    ) -> tuple[User, datetime.datetime] | None:
        """The session's user and its last use, if it was used after ``used_since``."""
        row = await self._one(
            f"SELECT {_USER_COLUMNS}, s.last_used_at FROM sessions s JOIN users u ON u.id = s.user_id "
            "WHERE s.token_hash = %s AND s.last_used_at > %s",
            (token_hash, used_since),
        )
        return (User(row[0], row[1]), row[2]) if row else None

    async def touch_session(self, token_hash: str, now: datetime.datetime) -> None:
        await self._one("UPDATE sessions SET last_used_at = %s WHERE token_hash = %s", (now, token_hash))

    async def delete_idle_sessions(self, used_before: datetime.datetime) -> int:
        """Forget sessions that can no longer be used; how many there were."""
        async with self._cursor() as cur:
            await cur.execute("DELETE FROM sessions WHERE last_used_at < %s", (used_before,))
            return cur.rowcount

    async def delete_session(self, token_hash: str) -> None:
        await self._one("DELETE FROM sessions WHERE token_hash = %s", (token_hash,))

    # Groups and memberships

    async def groups(
        self, viewer_id: int, online_since: datetime.datetime, ids: Iterable[int] | None = None
    ) -> list[Group]:
        """Groups sorted by name, with member and online counts as ``viewer_id`` sees them."""
        where, args = "", [online_since, viewer_id]
        if ids is not None:
            id_list = list(ids)
            if not id_list:
                return []
            where = f"WHERE g.id IN ({', '.join(['%s'] * len(id_list))})"
            args.extend(id_list)
        rows = await self._all(
            f"""SELECT g.id, g.name, g.created_at, u.id, u.username,
                   (SELECT COUNT(*) FROM memberships m WHERE m.group_id = g.id),
                   (SELECT COUNT(*) FROM memberships m JOIN presence p ON p.user_id = m.user_id
                     WHERE m.group_id = g.id AND p.last_seen > %s),
                   EXISTS (SELECT 1 FROM memberships m WHERE m.group_id = g.id AND m.user_id = %s)
               FROM chat_groups g JOIN users u ON u.id = g.created_by
               {where}
               ORDER BY g.name_key, g.id""",
            args,
        )
        return [
            Group(
                id=r[0], name=r[1], created_at=r[2], created_by=User(r[3], r[4]),
                members=r[5], online=r[6], joined=bool(r[7]),
            )
            for r in rows
        ]

    async def group(self, group_id: int, viewer_id: int, online_since: datetime.datetime) -> Group:
        found = await self.groups(viewer_id, online_since, [group_id])
        if not found:
            raise NoSuchGroup(group_id)
        return found[0]

    async def create_group(self, name: str, name_key: str, creator_id: int) -> tuple[int, Membership]:
        """Create a group and make its creator the first member, atomically."""
        now = utcnow()
        try:
            async with self._transaction() as cur:
                await cur.execute(
                    "INSERT INTO chat_groups (name, name_key, created_by, created_at) VALUES (%s, %s, %s, %s)",
                    (name, name_key, creator_id, now),
                )
                group_id = cur.lastrowid
                await cur.execute(
                    "INSERT INTO memberships (group_id, user_id, start_seq, joined_at) VALUES (%s, %s, 0, %s)",
                    (group_id, creator_id, now),
                )
                return group_id, Membership(cur.lastrowid, group_id, 0)
        except pymysql.err.IntegrityError as exc:
            if exc.args[0] == ER_DUP_ENTRY:
                raise GroupExists(name) from exc
            raise

    async def join(self, group_id: int, user_id: int) -> tuple[Membership, bool]:
        """Join (a no-op when already a member); the view starts after the newest message.

        Locking the group row orders the join against concurrent sends: a message
        is either before the join (hidden) or after it (seen), never both.
        """
        async with self._transaction() as cur:
            await cur.execute("SELECT last_seq FROM chat_groups WHERE id = %s FOR UPDATE", (group_id,))
            row = await cur.fetchone()
            if row is None:
                raise NoSuchGroup(group_id)
            await cur.execute(
                "SELECT id, start_seq FROM memberships WHERE group_id = %s AND user_id = %s",
                (group_id, user_id),
            )
            existing = await cur.fetchone()
            if existing:
                return Membership(existing[0], group_id, existing[1]), False
            await cur.execute(
                "INSERT INTO memberships (group_id, user_id, start_seq, joined_at) VALUES (%s, %s, %s, %s)",
                (group_id, user_id, row[0], utcnow()),
            )
            return Membership(cur.lastrowid, group_id, row[0]), True

    async def leave(self, group_id: int, user_id: int) -> bool:
        """Leave; returns whether there was a membership to end."""
        if not await self._one("SELECT 1 FROM chat_groups WHERE id = %s", (group_id,)):
            raise NoSuchGroup(group_id)
        async with self._cursor() as cur:
            await cur.execute("DELETE FROM memberships WHERE group_id = %s AND user_id = %s", (group_id, user_id))
            return cur.rowcount > 0

    async def membership(self, group_id: int, user_id: int) -> Membership:
        """The user's membership of an existing group, or NoSuchGroup / NotMember."""
        row = await self._one(
            """SELECT g.id, m.id, m.start_seq FROM chat_groups g
               LEFT JOIN memberships m ON m.group_id = g.id AND m.user_id = %s
               WHERE g.id = %s""",
            (user_id, group_id),
        )
        if row is None:
            raise NoSuchGroup(group_id)
        if row[1] is None:
            raise NotMember(group_id)
        return Membership(row[1], group_id, row[2])

    async def memberships(self, user_id: int) -> tuple[dict[int, Membership], dict[int, int]]:
        """The user's memberships by group id, and each of those groups' last seq."""
        rows = await self._all(
            """SELECT m.group_id, m.id, m.start_seq, g.last_seq FROM memberships m
               JOIN chat_groups g ON g.id = m.group_id WHERE m.user_id = %s""",
            (user_id,),
        )
        return {r[0]: Membership(r[1], r[0], r[2]) for r in rows}, {r[0]: r[3] for r in rows}

    # Messages

    async def insert_message(
        self, group_id: int, user: User, client_id: str | None, text: str | None = None,
        image: ProcessedImage | None = None,
    ) -> tuple[Message, bool]:
        """Store a text or image message under the next seq; returns (message, created).

        The group row lock serialises senders of one group, in every process,
        so seq has no gaps and follows commit order; the membership row is
        locked with it, so a concurrent leave cannot slip in between. A
        repeated client_id returns the original message instead of a second one.
        An image's bytes are stored in the same transaction as its message.
        """
        async with self._transaction() as cur:
            await cur.execute(
                """SELECT g.last_seq, m.id,
                          (SELECT r.id FROM messages r WHERE r.group_id = g.id AND r.user_id = %s AND r.client_id = %s)
                   FROM chat_groups g
                   LEFT JOIN memberships m ON m.group_id = g.id AND m.user_id = %s
                   WHERE g.id = %s FOR UPDATE""",
                (user.id, client_id, user.id, group_id),
            )
            row = await cur.fetchone()
            if row is None:
                raise NoSuchGroup(group_id)
            if row[1] is None:
                raise NotMember(group_id)
            if row[2] is not None:
                await cur.execute(f"SELECT {_MESSAGE_COLUMNS} FROM {_MESSAGE_FROM} WHERE m.id = %s", (row[2],))
                return _message(await cur.fetchone()), False
            seq = row[0] + 1
            now = utcnow()
            kind = "text" if image is None else "image"
            await cur.execute(
                """INSERT INTO messages (group_id, seq, user_id, kind, body, client_id, created_at)
                   VALUES (%s, %s, %s, %s, %s, %s, %s)""",
                (group_id, seq, user.id, kind, text, client_id, now),
            )
            message_id = cur.lastrowid
            ref = None
            if image is not None:
                ref = ImageRef(secrets.token_urlsafe(24), image.full.width, image.full.height)
                full, thumb = _hex_literal(image.full.data), _hex_literal(image.thumb.data)
                await cur.execute(
                    "INSERT INTO images (message_id, image_key, content_type, width, height, data, thumb_type, thumb)"
                    f" VALUES (%s, %s, %s, %s, %s, {full}, %s, {thumb})",
                    (message_id, ref.key, image.full.content_type, ref.width, ref.height, image.thumb.content_type),
                )
            await cur.execute("UPDATE chat_groups SET last_seq = %s WHERE id = %s", (seq, group_id))
        return Message(message_id, group_id, seq, user, kind, text, now, client_id, ref), True

    async def message_by_client_id(self, group_id: int, user_id: int, client_id: str) -> Message | None:
        row = await self._one(
            f"""SELECT {_MESSAGE_COLUMNS} FROM {_MESSAGE_FROM}
                WHERE m.group_id = %s AND m.user_id = %s AND m.client_id = %s""",
            (group_id, user_id, client_id),
        )
        return _message(row) if row else None

    async def image(self, key: str, viewer_id: int, thumb: bool) -> tuple[str, bytes] | None:
        """An image's content type and bytes, only for a member who may see its message."""
        columns = "i.thumb_type, i.thumb" if thumb else "i.content_type, i.data"
        row = await self._one(
            f"""SELECT {columns} FROM images i
                JOIN messages m ON m.id = i.message_id
                JOIN memberships ms ON ms.group_id = m.group_id AND ms.user_id = %s AND ms.start_seq < m.seq
                WHERE i.image_key = %s""",
            (viewer_id, key),
        )
        return (row[0], bytes(row[1])) if row else None

    async def messages_after(self, group_id: int, after_seq: int, limit: int) -> list[Message]:
        """Messages with seq > after_seq, oldest first."""
        rows = await self._all(
            f"""SELECT {_MESSAGE_COLUMNS} FROM {_MESSAGE_FROM}
                WHERE m.group_id = %s AND m.seq > %s ORDER BY m.seq LIMIT %s""",
            (group_id, after_seq, limit),
        )
        return [_message(r) for r in rows]

    async def messages_before(self, group_id: int, before_seq: int, after_seq: int, limit: int) -> list[Message]:
        """The newest ``limit`` messages with after_seq < seq < before_seq, oldest first."""
        rows = await self._all(
            f"""SELECT {_MESSAGE_COLUMNS} FROM {_MESSAGE_FROM}
                WHERE m.group_id = %s AND m.seq < %s AND m.seq > %s ORDER BY m.seq DESC LIMIT %s""",
            (group_id, before_seq, after_seq, limit),
        )
        return [_message(r) for r in reversed(rows)]

    async def last_seqs(self, group_ids: Iterable[int]) -> dict[int, int]:
        ids = list(group_ids)
        if not ids:
            return {}
        placeholders = ", ".join(["%s"] * len(ids))
        rows = await self._all(f"SELECT id, last_seq FROM chat_groups WHERE id IN ({placeholders})", ids)
        return {r[0]: r[1] for r in rows}

    async def last_seq(self, group_id: int) -> int:
        row = await self._one("SELECT last_seq FROM chat_groups WHERE id = %s", (group_id,))
        if row is None:
            raise NoSuchGroup(group_id)
        return row[0]

    # Presence

    async def mark_present(
        self, seen: dict[int, datetime.datetime], online_since: datetime.datetime
    ) -> set[int]:
        """Write last-seen times in one statement; returns who was not online before."""
        if not seen:
            return set()
        ids = list(seen)
        async with self._transaction() as cur:
            await cur.execute(
                f"""SELECT user_id FROM presence WHERE user_id IN ({', '.join(['%s'] * len(ids))})
                    AND last_seen > %s FOR UPDATE""",
                (*ids, online_since),
            )
            already = {r[0] for r in await cur.fetchall()}
            await cur.execute(
                "INSERT INTO presence (user_id, last_seen) VALUES "
                + ", ".join(["(%s, %s)"] * len(ids))
                + " ON DUPLICATE KEY UPDATE last_seen = GREATEST(last_seen, VALUES(last_seen))",
                [v for uid in ids for v in (uid, seen[uid])],
            )
        return set(ids) - already

    async def expire_presence(self, online_since: datetime.datetime) -> set[int]:
        """Delete presence older than ``online_since``; returns whose it was. When nothing
        is stale (most sweeps) this is one plain read, not a locking transaction."""
        if not await self._one("SELECT 1 FROM presence WHERE last_seen <= %s LIMIT 1", (online_since,)):
            return set()
        async with self._transaction() as cur:
            await cur.execute("SELECT user_id FROM presence WHERE last_seen <= %s FOR UPDATE", (online_since,))
            gone = [r[0] for r in await cur.fetchall()]
            if gone:
                await cur.execute(
                    f"DELETE FROM presence WHERE user_id IN ({', '.join(['%s'] * len(gone))})", gone
                )
        return set(gone)

    async def is_online(self, user_id: int, online_since: datetime.datetime) -> bool:
        return await self._one(
            "SELECT 1 FROM presence WHERE user_id = %s AND last_seen > %s", (user_id, online_since)
        ) is not None

    async def groups_of(self, user_ids: Iterable[int]) -> dict[int, list[int]]:
        """Group ids of each user's memberships, keyed by user."""
        ids = list(user_ids)
        if not ids:
            return {}
        rows = await self._all(
            f"SELECT user_id, group_id FROM memberships WHERE user_id IN ({', '.join(['%s'] * len(ids))})", ids
        )
        result: dict[int, list[int]] = {}
        for user_id, group_id in rows:
            result.setdefault(user_id, []).append(group_id)
        return result

    async def users(self, user_ids: Iterable[int]) -> dict[int, User]:
        ids = list(user_ids)
        if not ids:
            return {}
        rows = await self._all(f"SELECT id, username FROM users WHERE id IN ({', '.join(['%s'] * len(ids))})", ids)
        return {r[0]: User(r[0], r[1]) for r in rows}

    async def online_members(
        self, group_ids: Iterable[int], online_since: datetime.datetime
    ) -> dict[int, list[User]]:
        """Each group's members who are online, by username."""
        ids = list(group_ids)
        result: dict[int, list[User]] = {gid: [] for gid in ids}
        if not ids:
            return result
        rows = await self._all(
            f"""SELECT m.group_id, {_USER_COLUMNS} FROM memberships m
                JOIN presence p ON p.user_id = m.user_id AND p.last_seen > %s
                JOIN users u ON u.id = m.user_id
                WHERE m.group_id IN ({', '.join(['%s'] * len(ids))}) ORDER BY u.username""",
            (online_since, *ids),
        )
        for group_id, user_id, username in rows:
            result[group_id].append(User(user_id, username))
        return result
