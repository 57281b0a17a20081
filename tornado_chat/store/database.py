"""The connection pool, connections, transactions, and what a database failure means.

The pool runs in autocommit mode with READ COMMITTED isolation: a statement
always sees what other connections and processes have committed, so a waiter
woken after a commit that re-reads gets the new rows, never a stale snapshot.
Writes that must be atomic use an explicit transaction (``Database.transaction``).

Every call is bounded (``DatabaseTimeouts``): the wait for a pooled connection,
and the whole call, on the client; each statement, on the server too. A call
that fails for the database's sake (gone, hung, too slow) raises
``DatabaseUnavailable``, which the handlers answer with 503; its connection is
closed, never handed back to the pool in an unknown state.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiomysql
import pymysql
from pymysql.constants import CR

from ..config import DatabaseTimeouts, DatabaseURL
from ..errors import Refused

log = logging.getLogger(__name__)

ER_DUP_ENTRY = 1062
# A pooled connection older than this is replaced before use: servers drop connections idle
# past their wait_timeout (8 hours by default), and an hour stays well clear of any setting seen.
POOL_RECYCLE_SECONDS = 3600
HEALTH_TIMEOUT = 2.0  # a health check answers within a load balancer's usual probe timeout
# Failures of the database rather than of the request (lost or refused connections, a
# server's timeout, a deadlock, our deadline): answered with 503, their connection closed.
CONNECTION_FAULTS = (
    pymysql.err.OperationalError, pymysql.err.InterfaceError, pymysql.err.InternalError, TimeoutError, OSError,
)


class StorageError(Exception):
    """Base of the errors of storage itself (the domain's refusals are in ``errors``)."""


class DatabaseUnavailable(StorageError):
    """The database did not answer in time, or the connection to it failed: try again later."""


def is_duplicate(exc: pymysql.err.IntegrityError) -> bool:
    """Whether an insert broke a unique key (the domain's "already exists")."""
    return exc.args[0] == ER_DUP_ENTRY


@asynccontextmanager
async def answered_within(seconds: float) -> AsyncIterator[None]:
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


async def session_setup(url: DatabaseURL, timeouts: DatabaseTimeouts) -> str:
    """The statement every new connection runs: READ COMMITTED, and the server's own limit on
    a statement's time, under the names this server knows: MariaDB's ``max_statement_time``
    (seconds, any statement) or MySQL's ``max_execution_time`` (milliseconds, SELECTs only)."""
    async with answered_within(timeouts.connect):
        conn = await aiomysql.connect(connect_timeout=timeouts.connect, **url.connect_kwargs())
    try:
        async with answered_within(timeouts.statement), conn.cursor() as cur:
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


def placeholders(values: list[Any]) -> str:
    """``%s, %s, ...`` for an ``IN (...)`` of these values."""
    return ", ".join(["%s"] * len(values))


@dataclass(frozen=True)
class PoolUse:
    """Connections of the pool: ``size`` open (``free`` idle, ``in_use`` lent out) of at most ``max``;
    ``waiting``: statements waiting for one."""

    size: int
    free: int
    in_use: int
    max: int
    waiting: int


class Database:
    """The pool, and the one way the aggregates' statements reach it."""

    def __init__(self, pool: aiomysql.Pool, timeouts: DatabaseTimeouts) -> None:
        self._pool = pool
        self._timeouts = timeouts
        self._available = True
        self._waiting = 0  # acquisitions not yet given a connection

    @classmethod
    async def connect(cls, url: DatabaseURL, pool_size: int, timeouts: DatabaseTimeouts) -> Database:
        init_command = await session_setup(url, timeouts)
        async with answered_within(timeouts.acquire):
            pool = await aiomysql.create_pool(
                minsize=1,
                maxsize=pool_size,
                autocommit=True,
                init_command=init_command,
                pool_recycle=POOL_RECYCLE_SECONDS,
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
        except CONNECTION_FAULTS as exc:
            raise self._unavailable("no database connection", exc) from exc
        finally:
            self._waiting -= 1
        try:
            async with asyncio.timeout(self._timeouts.statement):
                yield conn
        except CONNECTION_FAULTS as exc:
            conn.close()
            raise self._unavailable("a database call failed", exc) from exc
        except (StorageError, Refused, pymysql.err.MySQLError):
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
    async def cursor(self) -> AsyncIterator[aiomysql.Cursor]:
        """A cursor for statements that each commit on their own (autocommit)."""
        async with self._connection() as conn, conn.cursor() as cur:
            yield cur

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiomysql.Cursor]:
        """A transaction, committed when the block ends. A domain error rolls it back; any
        other failure closes the connection, which makes the server roll it back (a rollback
        on a hung connection would hang too)."""
        async with self._connection() as conn:
            await conn.begin()
            try:
                async with conn.cursor() as cur:
                    yield cur
                await conn.commit()
            except (StorageError, Refused, pymysql.err.IntegrityError):
                await conn.rollback()
                raise

    async def all(self, sql: str, args: Any = None) -> list[tuple[Any, ...]]:
        async with self.cursor() as cur:
            await cur.execute(sql, args)
            return list(await cur.fetchall())

    async def one(self, sql: str, args: Any = None) -> tuple[Any, ...] | None:
        async with self.cursor() as cur:
            await cur.execute(sql, args)
            return await cur.fetchone()

    async def ping(self) -> None:
        await self.one("SELECT 1")

    async def answers(self, within: float = HEALTH_TIMEOUT) -> bool:
        """Whether the database answers a trivial statement in time (for /healthz)."""
        try:
            await asyncio.wait_for(self.ping(), within)
        except Exception:
            return False
        return True
