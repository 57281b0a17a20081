"""The connection pool, connections, transactions, and what a database failure means.

A database may be several nodes of a Galera cluster (``DatabaseURL.nodes``): the pool
talks to one node at a time, the first that answers, and moves to the next when its node
fails (gone, hung, or out of the cluster's primary component); a statement that never
reached the failed node is sent to the next one at once. A transaction that Galera aborts
because a conflicting one was certified first on another node (error 1213, the same as
InnoDB's deadlock) stored nothing, so the store method that ran it runs again
(``retried_on_conflict``): a send retried this way is still stored once, as its
``client_id`` and the group's row lock see to it. On a cluster every session waits for the
cluster's earlier commits before it reads (``wsrep_sync_wait = 1``): a process woken by
another process's write must find that write on its own node.

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
import functools
import logging
import math
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

import aiomysql
import pymysql
from pymysql.constants import CR

from ..config import DatabaseTimeouts, DatabaseURL
from ..errors import Refused

log = logging.getLogger(__name__)

ER_DUP_ENTRY = 1062
ER_LOCK_DEADLOCK = 1213  # InnoDB's deadlock victim, and Galera's certification failure
# Server errors that say the node, not the statement, is unwell: it is not (or no longer) part of
# the cluster's primary component (1047 "WSREP has not yet prepared node for application use"),
# it is shutting down (1053), or it killed the connection (1927).
NODE_ERRORS = frozenset({1047, 1053, 1927})
# A conflicting transaction runs again, up to this many times in all, after a random pause of up
# to 5 ms, then 10, 20, 40, 80, then 100 each: two nodes' writers to one busy group row take
# turns rather than collide again (the local node's writers win its row lock more often, so the
# other node's may lose several times in a row).
CONFLICT_ATTEMPTS = 10
CONFLICT_BACKOFF = 0.005
CONFLICT_BACKOFF_CAP = 0.1
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


class Conflict(DatabaseUnavailable):
    """The transaction was rolled back for a conflicting one (another node's, certified first,
    or InnoDB's deadlock victim): nothing of it was stored, and running it again is safe."""


def is_conflict(exc: BaseException) -> bool:
    return isinstance(exc, pymysql.err.OperationalError) and bool(exc.args) and exc.args[0] == ER_LOCK_DEADLOCK


def is_node_failure(exc: BaseException) -> bool:
    """Whether another node may answer what this one failed: the connection broke or could not be
    made (the client's own errors, 2000-2999), or the server said it is out of service
    (``NODE_ERRORS``). A deadline that ran out is not one: a slow statement or a wait for a busy
    row lock looks the same (``Database`` asks the node whether it answers, then)."""
    if isinstance(exc, pymysql.err.MySQLError) and exc.args and isinstance(exc.args[0], int):
        return 2000 <= exc.args[0] < 3000 or exc.args[0] in NODE_ERRORS
    return isinstance(exc, OSError | pymysql.err.InterfaceError) and not isinstance(exc, TimeoutError)


@dataclass
class Retries:
    """This process's conflicts run again, for /metrics (a rising count on a cluster means
    writes to the same groups from several nodes)."""

    conflicts: int = 0


RETRIES = Retries()
P = ParamSpec("P")
R = TypeVar("R")


def retried_on_conflict(method: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Run a store method again when its transaction lost a conflict (``Conflict``). Every store
    method that writes in a transaction carries this: it is one transaction from its arguments
    to its answer, so running it again is the whole of a retry."""

    @functools.wraps(method)
    async def retrying(*args: P.args, **kwargs: P.kwargs) -> R:
        for attempt in range(CONFLICT_ATTEMPTS - 1):
            try:
                return await method(*args, **kwargs)
            except Conflict:
                RETRIES.conflicts += 1
                await asyncio.sleep(random.uniform(0, min(CONFLICT_BACKOFF * 2**attempt, CONFLICT_BACKOFF_CAP)))
        return await method(*args, **kwargs)

    return retrying


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
                "SHOW VARIABLES WHERE Variable_name IN ('transaction_isolation', 'tx_isolation', "
                "'max_statement_time', 'max_execution_time', 'wsrep_on')"
            )
            known = dict(await cur.fetchall())
    finally:
        conn.close()
    isolation = "transaction_isolation" if "transaction_isolation" in known else "tx_isolation"
    settings = [f"SESSION {isolation} = 'READ-COMMITTED'"]
    if "max_statement_time" in known:
        settings.append(f"SESSION max_statement_time = {timeouts.statement:.3f}")
    elif "max_execution_time" in known:
        settings.append(f"SESSION max_execution_time = {math.ceil(timeouts.statement * 1000)}")
    if known.get("wsrep_on") == "ON":
        settings.append("SESSION wsrep_sync_wait = 1")  # reads wait for the cluster's earlier commits
    return "SET " + ", ".join(settings)


def placeholders(values: list[Any]) -> str:
    """``%s, %s, ...`` for an ``IN (...)`` of these values."""
    return ", ".join(["%s"] * len(values))


@dataclass(frozen=True)
class PoolUse:
    """Connections of the pool: ``size`` open (``free`` idle, ``in_use`` lent out) of at most ``max``;
    ``waiting``: statements waiting for one; ``node``: the address of the node it talks to (of the
    database's ``nodes``), ``failovers``: how often it moved to another, ``conflicts_retried``: see
    ``Retries``."""

    size: int
    free: int
    in_use: int
    max: int
    waiting: int
    node: str = ""
    failovers: int = 0
    conflicts_retried: int = 0


class Database:
    """The pool, and the one way the aggregates' statements reach it."""

    def __init__(
        self, nodes: list[DatabaseURL], pool_size: int, timeouts: DatabaseTimeouts, init_command: str, node: int = 0
    ) -> None:
        self._nodes = nodes
        self._node = node  # the node the pool talks to
        self._pool_size = pool_size
        self._timeouts = timeouts
        self._init_command = init_command
        self._pool: aiomysql.Pool | None = None
        self._opening = asyncio.Lock()
        self._left: set[asyncio.Task[None]] = set()  # pools of failed nodes, closing
        self._available = True
        self._waiting = 0  # acquisitions not yet given a connection
        self._failovers = 0
        self._checking: asyncio.Future[None] | None = None  # a node's check after a call ran out of time

    @classmethod
    async def connect(cls, url: DatabaseURL, pool_size: int, timeouts: DatabaseTimeouts) -> Database:
        """A pool on the first of ``url``'s nodes that answers; the last node's error if none does."""
        nodes = url.nodes()
        for index, node in enumerate(nodes):
            try:
                init_command = await session_setup(node, timeouts)
                db = cls(nodes, pool_size, timeouts, init_command, index)
                async with answered_within(timeouts.acquire):
                    db._pool = await db._open_pool(node)
            except CONNECTION_FAULTS as exc:
                if index == len(nodes) - 1 or not is_node_failure(exc):
                    raise
                log.warning("database node %s:%s does not answer (%s); trying the next", node.host, node.port, exc)
            else:
                return db
        raise AssertionError("unreachable: the last node's failure is raised")

    async def _open_pool(self, node: DatabaseURL) -> aiomysql.Pool:
        return await aiomysql.create_pool(
            minsize=1,
            maxsize=self._pool_size,
            autocommit=True,
            init_command=self._init_command,
            pool_recycle=POOL_RECYCLE_SECONDS,
            connect_timeout=self._timeouts.connect,
            **node.connect_kwargs(),
        )

    async def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            await self._pool.wait_closed()
        pending = [*self._left, *([self._checking] if self._checking else [])]
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)

    @property
    def several_nodes(self) -> bool:
        return len(self._nodes) > 1

    @property
    def node(self) -> DatabaseURL:
        """The node the pool talks to now."""
        return self._nodes[self._node]

    def pool_use(self) -> PoolUse:
        """The pool right now, for /metrics: a busy pool shows as requests waiting here."""
        pool = self._pool
        size, free, maxsize = (pool.size, pool.freesize, pool.maxsize) if pool else (0, 0, self._pool_size)
        return PoolUse(size=size, free=free, in_use=size - free, max=maxsize, waiting=self._waiting,
                       node=f"{self.node.host}:{self.node.port}", failovers=self._failovers,
                       conflicts_retried=RETRIES.conflicts)

    async def _current_pool(self) -> aiomysql.Pool:
        """The pool of the node in use; after a failover, opened on the first node that answers,
        from the next one on (each tried once: when none answers, the last one's error)."""
        if self._pool is not None:
            return self._pool  # every call but those after a failover: no lock taken
        async with self._opening:
            failure: BaseException | None = None
            for _ in self._nodes:
                if self._pool is not None:
                    return self._pool
                try:
                    async with answered_within(self._timeouts.connect):
                        self._pool = await self._open_pool(self.node)
                except CONNECTION_FAULTS as exc:
                    if not is_node_failure(exc):
                        raise
                    failure = exc
                    self._node = (self._node + 1) % len(self._nodes)
                    self._failovers += 1
                else:
                    log.warning("the database pool now talks to node %s:%s", self.node.host, self.node.port)
            if self._pool is not None:
                return self._pool
            assert failure is not None
            raise failure

    async def fail_back(self) -> None:
        """Go back to an earlier node of the URL's list once it is a synced member of the cluster
        again. Every process lists the nodes in one order so that one node takes the writes; after a
        failover, the processes that restarted meanwhile would be on the first node and the others on
        the second, both writing, their transactions conflicting. Called every few seconds."""
        for index in range(self._node):
            node = self._nodes[index]
            if not await self._ready(node):
                continue
            try:
                async with answered_within(self._timeouts.acquire):
                    pool = await self._open_pool(node)  # outside the lock: calls go on meanwhile
            except CONNECTION_FAULTS:
                return
            async with self._opening:
                if self._pool is None or index >= self._node:
                    old = pool  # a failover is under way, or another call came back first
                else:
                    old, self._pool, self._node = self._pool, pool, index
                    log.warning("the database pool is back on node %s:%s", node.host, node.port)
            self._close_later(old)
            return

    async def _ready(self, node: DatabaseURL) -> bool:
        """Whether ``node`` answers and, if it is a Galera node, is synced with its cluster's primary component."""
        try:
            async with answered_within(self._timeouts.connect):
                conn = await aiomysql.connect(connect_timeout=self._timeouts.connect, **node.connect_kwargs())
            try:
                async with answered_within(self._timeouts.statement), conn.cursor() as cur:
                    await cur.execute(
                        "SHOW STATUS WHERE Variable_name IN ('wsrep_ready', 'wsrep_local_state_comment')"
                    )
                    status = dict(await cur.fetchall())
            finally:
                conn.close()
        except CONNECTION_FAULTS:
            return False
        return not status or (status.get("wsrep_ready") == "ON" and status.get("wsrep_local_state_comment") == "Synced")

    def _check_soon(self, pool: aiomysql.Pool) -> None:
        """A call ran out of time on ``pool``'s node: ask the node (a new connection, a status read,
        each within its timeout) whether it still answers, and move on if not. One check at a time."""
        if self._checking is not None or pool is not self._pool:
            return

        async def check() -> None:
            try:
                if not await self._ready(self.node):
                    self._move_on(pool, TimeoutError("the node did not answer a check after a call ran out of time"))
            finally:
                self._checking = None

        self._checking = asyncio.ensure_future(check())

    def _close_later(self, pool: aiomysql.Pool) -> None:
        """Close a pool no longer in use as the calls still using it finish."""
        pool.close()
        task = asyncio.ensure_future(pool.wait_closed())
        self._left.add(task)
        task.add_done_callback(self._left.discard)

    def _move_on(self, pool: aiomysql.Pool, exc: BaseException) -> None:
        """The node of ``pool`` failed: the next call goes to the next node. Its pool closes as the
        calls still using it finish (a call that raced with another's failure has moved on already)."""
        if pool is not self._pool:
            return
        failed = self.node
        self._node = (self._node + 1) % len(self._nodes)
        self._pool = None
        self._failovers += 1
        log.warning("database node %s:%s failed (%s: %s); moving to node %s:%s",
                    failed.host, failed.port, type(exc).__name__, exc, self.node.host, self.node.port)
        self._close_later(pool)

    async def _acquire(self) -> tuple[aiomysql.Pool, aiomysql.Connection]:
        """A connection from the node in use; when the node does not give one, from the next:
        nothing was sent yet, so moving on is safe."""
        for _ in range(len(self._nodes) - 1):
            pool = await self._current_pool()
            try:
                return pool, await pool.acquire()
            except CONNECTION_FAULTS as exc:
                if not is_node_failure(exc):
                    raise
                self._move_on(pool, exc)
        pool = await self._current_pool()
        return pool, await pool.acquire()

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[aiomysql.Connection]:
        """A pooled connection for one call, within the call's deadline.

        aiomysql's ``acquire`` has no timeout of its own (and holds the pool's lock while
        it connects), so it runs under one here; a connection whose call failed for the
        database's sake or ran out of time is closed before it goes back (a cancelled
        query leaves unread packets behind), so the pool only ever keeps clean ones. A call
        that failed for its node's sake moves the pool to the next node, if there is one.
        """
        self._waiting += 1
        try:
            async with asyncio.timeout(self._timeouts.acquire):
                pool, conn = await self._acquire()
        except CONNECTION_FAULTS as exc:
            raise self._unavailable("no database connection", exc) from exc
        finally:
            self._waiting -= 1
        try:
            async with asyncio.timeout(self._timeouts.statement):
                yield conn
        except CONNECTION_FAULTS as exc:
            if is_conflict(exc):
                raise Conflict(f"rolled back for a conflicting transaction: {exc}") from exc
            conn.close()
            if len(self._nodes) > 1 and is_node_failure(exc):
                self._move_on(pool, exc)
            elif len(self._nodes) > 1 and isinstance(exc, TimeoutError):
                self._check_soon(pool)
            raise self._unavailable("a database call failed", exc) from exc
        except (StorageError, Refused, pymysql.err.MySQLError):
            raise  # an answer about the data: the connection is in a known state
        except BaseException:
            conn.close()  # cancelled, or a bug: the connection's state is unknown
            raise
        finally:
            pool.release(conn)
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
            except pymysql.err.OperationalError as exc:
                if is_conflict(exc):
                    await conn.rollback()  # the server has; this ends the client's side of it
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
