"""A transaction that loses a conflict (Galera's certification, InnoDB's deadlock) runs again."""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path

import pymysql
import pytest

from tornado_chat.config import PROJECT_ROOT
from tornado_chat.store.database import (
    CONFLICT_ATTEMPTS,
    RETRIES,
    Conflict,
    is_conflict,
    is_node_failure,
    retried_on_conflict,
)

STORE = PROJECT_ROOT / "tornado_chat" / "store"


def test_a_method_that_lost_a_conflict_runs_again_until_it_succeeds() -> None:
    calls: list[int] = []

    @retried_on_conflict
    async def send(text: str) -> str:
        calls.append(1)
        if len(calls) < 3:
            raise Conflict("certification failed")
        return text

    before = RETRIES.conflicts
    assert asyncio.run(send("hello")) == "hello"
    assert len(calls) == 3
    assert RETRIES.conflicts == before + 2


def test_a_method_that_keeps_losing_gives_up_after_the_last_attempt_with_the_conflict() -> None:
    calls: list[int] = []

    @retried_on_conflict
    async def send() -> None:
        calls.append(1)
        raise Conflict("certification failed")

    with pytest.raises(Conflict):
        asyncio.run(send())
    assert len(calls) == CONFLICT_ATTEMPTS


def test_other_failures_are_not_run_again() -> None:
    calls: list[int] = []

    @retried_on_conflict
    async def send() -> None:
        calls.append(1)
        raise pymysql.err.IntegrityError(1062, "Duplicate entry")

    with pytest.raises(pymysql.err.IntegrityError):
        asyncio.run(send())
    assert len(calls) == 1


@pytest.mark.parametrize(
    ("error", "conflict", "node_failure"),
    [
        (pymysql.err.OperationalError(1213, "Deadlock found when trying to get lock"), True, False),
        (pymysql.err.OperationalError(1047, "WSREP has not yet prepared node for application use"), False, True),
        (pymysql.err.OperationalError(2013, "Lost connection to server during query"), False, True),
        (pymysql.err.OperationalError(2003, "Can't connect to MySQL server"), False, True),
        (pymysql.err.OperationalError(1969, "Query execution was interrupted (max_statement_time exceeded)"),
         False, False),
        (ConnectionResetError(), False, True),
        (TimeoutError(), False, False),  # a deadline: the statement may be slow, the node well
        (pymysql.err.OperationalError(3024, "Query execution was interrupted, maximum statement execution time "
                                            "exceeded"), False, False),  # MySQL's server errors reach 3000 and up
        (pymysql.err.OperationalError(4025, "CONSTRAINT failed"), False, False),
    ],
)
def test_errors_are_told_apart_as_conflicts_node_failures_or_neither(
    error: BaseException, conflict: bool, node_failure: bool
) -> None:
    assert (is_conflict(error), is_node_failure(error)) == (conflict, node_failure)


def transaction_methods_without_retry(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    missing = []
    for node in ast.walk(tree):
        if isinstance(node, ast.AsyncFunctionDef) and "_db.transaction()" in ast.unparse(node):
            if not any(isinstance(d, ast.Name) and d.id == "retried_on_conflict" for d in node.decorator_list):
                missing.append(f"{path.name}:{node.name}")
    return missing


def test_every_store_method_that_writes_in_a_transaction_runs_again_on_a_conflict() -> None:
    methods = sorted(STORE.glob("*.py"))
    assert [m for path in methods for m in transaction_methods_without_retry(path)] == []
    assert any("_db.transaction()" in path.read_text() for path in methods)
