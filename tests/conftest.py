"""Test harness: a real MariaDB server, real HTTP servers, real HTTP clients.

The database server is a private one started for the session under pytest's
temporary directory (or the server named by CHAT_TEST_DATABASE_URL); the
session's database is a throwaway one, dropped at the end. Each test gets its
own application (own hub, presence and throttles) on a free port; tests keep
out of each other's way by using fresh usernames and group names.

Only fixtures and hooks live here; what they use is in ``tests/support/``. Every
fixture that starts a server is lazy, so tests that ask for none (``tests/unit/``)
start nothing.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tornado_chat.config import DatabaseURL

from .support.database import database_server, drop_database
from .support.fuzz import FUZZ_REPORT
from .support.galera import GaleraCluster
from .support.http import Client, unique
from .support.processes import ChatProcess, RedisServer, running_chat_processes
from .support.sentinel import RedisSentinelSet
from .support.servers import Server, StartServer, serving

GENERATED_CASES = "generated cases"  # a report's user property: one line of the summary below


@pytest.fixture(scope="session")
def db_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], DatabaseURL]]:
    """A function giving the URL of a named database on the test server."""
    with database_server(lambda: tmp_path_factory.mktemp("mariadb")) as url_of:
        yield url_of


@pytest.fixture(scope="session")
def database(db_server: Callable[[str], DatabaseURL]) -> Iterator[DatabaseURL]:
    """The session's throwaway database (created with the schema by the first app)."""
    url = db_server(unique("tc_test"))
    yield url
    drop_database(url)


@pytest.fixture
async def start_server(database: DatabaseURL) -> AsyncIterator[StartServer]:
    """Start an application (settings overridable) on a free port; all are stopped after the test."""
    async with serving(database) as start:
        yield start


@pytest.fixture
async def server(start_server: StartServer) -> Server:
    return await start_server()


@pytest.fixture
def client(server: Server) -> Client:
    return server.client()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Redis for the session: CHAT_TEST_REDIS_URL, or a private redis-server."""
    external = os.environ.get("CHAT_TEST_REDIS_URL")
    if external:
        yield external
        return
    server = RedisServer(str(tmp_path_factory.mktemp("redis")))
    server.start()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def galera_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GaleraCluster]:
    """A three-node Galera cluster of real mariadbd processes (tests/support/galera.py), for the
    cluster's tests, which run in the serial phase: started once, by the first that asks."""
    started = GaleraCluster(tmp_path_factory.mktemp("galera"))
    started.start()
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
def galera(galera_cluster: GaleraCluster) -> Iterator[GaleraCluster]:
    """The session's cluster, every node of it running again after the test."""
    yield galera_cluster
    for node in galera_cluster.nodes:
        if not node.running:
            node.start()


@pytest.fixture
def sentinel_set(tmp_path: Path) -> Iterator[RedisSentinelSet]:
    """A Redis primary, its replica and three sentinels of the test's own (a test kills the primary)."""
    started = RedisSentinelSet(tmp_path / "sentinel")
    started.start()
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
def chat_processes(database: DatabaseURL, tmp_path: Path) -> Iterator[Callable[..., ChatProcess]]:
    """Start run.py processes on free ports, sharing the test database; all stopped after the test."""
    with running_chat_processes(database, tmp_path) as start:
        yield start


@pytest.fixture
def no_tracebacks(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """No request may end in an uncaught exception, whatever its status."""
    caplog.set_level(logging.ERROR, logger="tornado.application")
    yield
    errors = [r.getMessage() for r in caplog.records if r.name == "tornado.application" and r.levelno >= logging.ERROR]
    assert not errors, errors[:3]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[pytest.TestReport]:
    """Carry the generated cases' counts on the test's report: with ``pytest -n`` the tests run
    in worker processes, and only their reports reach the process that prints the summary."""
    report = yield
    report.user_properties.extend((GENERATED_CASES, line) for line in FUZZ_REPORT)
    FUZZ_REPORT.clear()
    return report


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Show, after the run, how many generated cases the hostile-input tests sent."""
    lines = [
        value
        for reports in terminalreporter.stats.values()
        for report in reports
        for name, value in getattr(report, "user_properties", ())
        if name == GENERATED_CASES
    ]
    if lines:
        terminalreporter.section("generated cases")
        for line in lines:
            terminalreporter.write_line(line)
