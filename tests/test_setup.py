"""Set-up: run.py's flags, the embedded database, the schema and database creation."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from tornado_chat.app import create_app
from tornado_chat.config import PROJECT_ROOT, DatabaseURL
from tornado_chat.store.migrate import migrate

from .support.database import drop_database, query
from .support.http import PASSWORD, free_port, unique
from .support.servers import make_settings

TABLES = {"users", "sessions", "chat_groups", "memberships", "messages", "presence", "images", "schema_migrations",
          "reactions", "mentions", "group_log", "group_removals", "push_subscriptions"}


def run_py(*args: str, env: dict[str, str] | None = None, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "run.py", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60,
        env=env, **kwargs,  # type: ignore[arg-type]
    )


def tables(url: DatabaseURL) -> set[str]:
    return {row[0] for row in query(url, "SHOW TABLES")}


async def test_a_database_url_naming_a_missing_database_gets_it_created_with_the_schema(
    db_server: Callable[[str], DatabaseURL],
) -> None:
    url = db_server(unique("tc_new"))
    try:
        app = await create_app(make_settings(url))
        await app.close()
        assert tables(url) == TABLES
        charset = query(url, "SELECT DEFAULT_CHARACTER_SET_NAME FROM information_schema.SCHEMATA "
                             "WHERE SCHEMA_NAME = %s", (url.database,))
        assert charset == [("utf8mb4",)]
    finally:
        drop_database(url)


def test_run_py_help_describes_every_flag() -> None:
    result = run_py("--help")
    assert result.returncode == 0
    for flag in ("--address", "--port", "--database-url", "--cookie-secret", "--bcrypt-rounds",
                 "CHAT_DATABASE_URL", "CHAT_COOKIE_SECRET"):
        assert flag in result.stdout


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--bcrypt-rounds", "99"], "--bcrypt-rounds must be between 4 and 16"),
        (["--database-url", "postgres://x/y"], "database URL must start with mysql://"),
        (["--database-url", "mysql://root@127.0.0.1/"], "database URL must name one database"),
        (["--port", "http"], "invalid int value"),
        (["--database-url", "mysql://nobody@127.0.0.1:1/chat"], "cannot reach the database"),
    ],
)
def test_run_py_refuses_bad_settings_with_one_clear_line(args: list[str], says: str) -> None:
    result = run_py(*args)
    assert result.returncode == 2
    assert says in result.stderr
    assert "Traceback" not in result.stderr


def wait_for_health(base: str, process: subprocess.Popen[str], limit: float = 60) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("the server did not become healthy")


def post_json(url: str, body: dict[str, str]) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def serve_once(var_dir: Path, action: Callable[[str], None]) -> None:
    """Start run.py with no database URL (the embedded server), act on it, stop it with SIGTERM."""
    env = {k: v for k, v in os.environ.items() if k not in ("CHAT_DATABASE_URL", "CHAT_COOKIE_SECRET")}
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "run.py", "--port", str(port), "--var-dir", str(var_dir), "--bcrypt-rounds", "4"],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for_health(base, process)
        action(base)
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0


def mariadb_processes_using(datadir: Path) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "mariadbd" in cmdline or "mysqld" in cmdline:
            if str(datadir) in cmdline:
                found.append(cmdline)
    return found


def test_run_py_without_a_database_url_serves_on_a_private_server_and_keeps_data(tmp_path: Path) -> None:
    username = unique("kept")
    serve_once(tmp_path, lambda base: post_json(base + "/api/users", {"username": username, "password": PASSWORD}))
    assert (tmp_path / "mariadb").is_dir()
    assert mariadb_processes_using(tmp_path / "mariadb") == []
    secret = (tmp_path / "cookie_secret").read_text()

    def sign_in(base: str) -> None:
        status, body = post_json(base + "/api/session", {"username": username, "password": PASSWORD})
        assert status == 200, body

    serve_once(tmp_path, sign_in)
    assert (tmp_path / "cookie_secret").read_text() == secret
    assert mariadb_processes_using(tmp_path / "mariadb") == []


def test_the_embedded_server_flushes_every_commit_to_disk_before_it_returns(
    db_server: Callable[[str], DatabaseURL],
) -> None:
    """A message answered 201 survives a crash of the machine, not only of the server."""
    if os.environ.get("CHAT_TEST_DATABASE_URL"):
        pytest.skip("the tests use a database server of their own, not the embedded one")
    url = db_server(unique("durable"))
    assert query(dataclasses.replace(url, database="mysql"), "SELECT @@innodb_flush_log_at_trx_commit") == [(1,)]


def test_run_py_refuses_a_database_migrated_by_newer_code_with_one_clear_line(
    db_server: Callable[[str], DatabaseURL],
) -> None:
    url = db_server(unique("tc_newer"))
    try:
        asyncio.run(migrate(url))
        query(url, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, '9999_future.sql', NOW())")
        result = run_py("--database-url", url.url())
        assert result.returncode == 2
        assert "records migrations this code does not have: 9999" in result.stderr
        assert "Traceback" not in result.stderr
    finally:
        drop_database(url)
