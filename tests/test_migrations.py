"""Versioned migrations (tornado_chat/store/migrate.py) on the real test server: the schema they
build, a database made before them, repeated and concurrent runs, and what they refuse."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tornado_chat.config import PROJECT_ROOT, DatabaseURL
from tornado_chat.store.migrate import (
    MIGRATIONS_DIR,
    MigrationError,
    lock_name,
    migrate,
    migration_files,
    split_statements,
)

from .support.database import connect, drop_database, query
from .support.http import unique

SCHEMA = PROJECT_ROOT / "schema.sql"
# schema.sql verbatim as it was when migrations began: what every database deployed before
# them was made with, at each start.
BEFORE_MIGRATIONS = Path(__file__).parent / "fixtures" / "schema_before_migrations.sql"
INITIAL = MIGRATIONS_DIR / "0001_initial.sql"
TABLES_BEFORE_MIGRATIONS = ["chat_groups", "images", "memberships", "messages", "presence", "sessions", "users"]
TABLES = sorted([*TABLES_BEFORE_MIGRATIONS, "group_log", "group_removals", "mentions", "reactions"])
AT = datetime.datetime(2024, 5, 6, 7, 8, 9, 123000)

# The schema as information_schema describes it, one query per part; schema_migrations,
# the migrations' own bookkeeping, is left out.
SCHEMA_QUERIES = {
    "tables": "SELECT TABLE_NAME, ENGINE, TABLE_COLLATION FROM information_schema.TABLES "
              "WHERE TABLE_SCHEMA = %s AND TABLE_NAME <> 'schema_migrations' ORDER BY 1",
    "columns": "SELECT TABLE_NAME, ORDINAL_POSITION, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, "
               "CHARACTER_SET_NAME, COLLATION_NAME, EXTRA FROM information_schema.COLUMNS "
               "WHERE TABLE_SCHEMA = %s AND TABLE_NAME <> 'schema_migrations' ORDER BY 1, 2",
    "indexes": "SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, SEQ_IN_INDEX, COLUMN_NAME, SUB_PART "
               "FROM information_schema.STATISTICS "
               "WHERE TABLE_SCHEMA = %s AND TABLE_NAME <> 'schema_migrations' ORDER BY 1, 2, 4",
    "foreign keys": "SELECT k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION, k.COLUMN_NAME, "
                    "k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME, r.UPDATE_RULE, r.DELETE_RULE "
                    "FROM information_schema.KEY_COLUMN_USAGE k JOIN information_schema.REFERENTIAL_CONSTRAINTS r "
                    "ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.TABLE_NAME = k.TABLE_NAME "
                    "AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME WHERE k.TABLE_SCHEMA = %s ORDER BY 1, 2, 3",
    "checks": "SELECT TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS "
              "WHERE CONSTRAINT_SCHEMA = %s ORDER BY 1, 2",
}


@pytest.fixture
def new_database(db_server: Callable[[str], DatabaseURL]) -> Iterator[Callable[[], DatabaseURL]]:
    """URLs of databases that do not exist yet; each is dropped after the test."""
    made: list[DatabaseURL] = []

    def make() -> DatabaseURL:
        made.append(db_server(unique("tc_migrate")))
        return made[-1]

    yield make
    for url in made:
        drop_database(url)


def migrations_folder(root: Path, files: dict[str, str], with_initial: bool = False) -> Path:
    """A migrations folder of ``files`` (name: SQL), after a copy of the real 0001 if asked."""
    folder = root / "migrations"
    folder.mkdir(parents=True, exist_ok=True)
    if with_initial:
        shutil.copy(INITIAL, folder / INITIAL.name)
    for name, sql in files.items():
        (folder / name).write_text(sql, encoding="utf-8")
    return folder


def create_with(url: DatabaseURL, script: Path) -> None:
    """Create the database as the application always has (utf8mb4) and run ``script`` in it."""
    conn = connect(url, with_database=False)
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{url.database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
            cur.execute(f"USE `{url.database}`")
            for statement in split_statements(script.read_text(encoding="utf-8")):
                cur.execute(statement)
    finally:
        conn.close()


def schema_of(url: DatabaseURL) -> dict[str, list[tuple[Any, ...]]]:
    return {part: query(url, sql, (url.database,)) for part, sql in SCHEMA_QUERIES.items()}


def assert_schema_is_schema_sql(url: DatabaseURL, new_database: Callable[[], DatabaseURL]) -> None:
    """``url``'s schema is exactly what schema.sql makes of another new database."""
    reference = new_database()
    create_with(reference, SCHEMA)
    expected, actual = schema_of(reference), schema_of(url)
    assert [row[0] for row in expected["tables"]] == TABLES
    assert expected["columns"] and expected["indexes"] and expected["foreign keys"]
    for part in SCHEMA_QUERIES:
        assert actual[part] == expected[part], part


def exists(url: DatabaseURL) -> bool:
    return bool(query(dataclasses.replace(url, database="information_schema"),
                      "SELECT 1 FROM SCHEMATA WHERE SCHEMA_NAME = %s", (url.database,)))


def recorded(url: DatabaseURL) -> list[tuple[Any, ...]]:
    return query(url, "SELECT version, name FROM schema_migrations ORDER BY version")


def fill_every_table(url: DatabaseURL) -> None:
    """Rows in every table, of the kinds the service writes: two users, a session, a group with
    both as members, a text message and an image message with its bytes, a presence row."""
    conn = connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("INSERT INTO users (id, username, password_hash, created_at) VALUES "
                        "(1, 'Ada_Lovelace', %s, %s), (2, 'bob', %s, %s)",
                        ("$2b$04$" + "a" * 53, AT, "$2b$04$" + "b" * 53, AT))
            cur.execute("INSERT INTO sessions (id, user_id, token_hash, created_at, last_used_at) "
                        "VALUES (1, 1, %s, %s, %s)", ("0f" * 32, AT, AT + datetime.timedelta(minutes=5)))
            cur.execute("INSERT INTO chat_groups (id, name, name_key, created_by, created_at, last_seq) "
                        "VALUES (1, 'Тест 🐍 Group', 'тест 🐍 group', 1, %s, 2)", (AT,))
            cur.execute("INSERT INTO memberships (id, group_id, user_id, start_seq, joined_at) "
                        "VALUES (1, 1, 1, 0, %s), (2, 1, 2, 1, %s)", (AT, AT))
            cur.execute("INSERT INTO messages (id, group_id, seq, user_id, kind, body, client_id, created_at) "
                        "VALUES (1, 1, 1, 1, 'text', 'héllo 👋; -- not a comment', 'client-1', %s), "
                        "(2, 1, 2, 2, 'image', NULL, NULL, %s)", (AT, AT))
            cur.execute("INSERT INTO images (message_id, image_key, content_type, width, height, data, "
                        "thumb_type, thumb) VALUES (2, %s, 'image/png', 3, 2, %s, 'image/jpeg', %s)",
                        ("k" * 32, bytes(range(256)) * 4, b"\xff\xd8" + bytes(range(255, -1, -1))))
            cur.execute("INSERT INTO presence (user_id, last_seen) VALUES (2, %s)", (AT,))
    finally:
        conn.close()


def snapshot(url: DatabaseURL, columns: dict[str, list[str]] | None = None) -> dict[str, tuple[list[str], list[Any]]]:
    """Every row of every table (of ``columns`` only, if given: the columns a table had before)."""
    if columns is None:
        columns = {}
        for table, column in query(url, "SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.COLUMNS "
                                        "WHERE TABLE_SCHEMA = %s AND TABLE_NAME <> 'schema_migrations' "
                                        "ORDER BY TABLE_NAME, ORDINAL_POSITION", (url.database,)):
            columns.setdefault(table, []).append(column)
    return {
        table: (names, query(url, f"SELECT {', '.join(f'`{n}`' for n in names)} FROM `{table}` ORDER BY 1"))
        for table, names in columns.items()
    }


async def test_migrating_an_empty_database_builds_exactly_the_schema_of_schema_sql(
    new_database: Callable[[], DatabaseURL],
) -> None:
    url = new_database()
    applied = await migrate(url)
    assert applied == [migration.name for migration in migration_files()]
    assert_schema_is_schema_sql(url, new_database)


async def test_a_database_made_before_migrations_keeps_every_row_and_gets_the_schema_of_schema_sql(
    new_database: Callable[[], DatabaseURL],
) -> None:
    url = new_database()
    create_with(url, BEFORE_MIGRATIONS)
    fill_every_table(url)
    before = snapshot(url)
    assert sorted(before) == TABLES_BEFORE_MIGRATIONS and all(rows for _, rows in before.values())

    applied = await migrate(url)

    assert applied[0] == "0001_initial.sql"  # recorded: its tables were all there already
    assert recorded(url)[0] == (1, "0001_initial.sql")
    assert snapshot(url, {table: names for table, (names, _) in before.items()}) == before
    assert_schema_is_schema_sql(url, new_database)


async def test_messages_stored_before_the_group_log_stand_at_their_seq_in_it(
    new_database: Callable[[], DatabaseURL],
) -> None:
    """A cursor made before 0005 carries seqs: they must read as the same places in the log."""
    url = new_database()
    create_with(url, BEFORE_MIGRATIONS)
    fill_every_table(url)
    await migrate(url)
    assert query(url, "SELECT seq, pos, version FROM messages ORDER BY seq") == [(1, 1, 1), (2, 2, 1)]
    assert query(url, "SELECT last_seq, last_pos FROM chat_groups") == [(2, 2)]
    assert query(url, "SELECT start_seq, start_pos FROM memberships ORDER BY id") == [(0, 0), (1, 1)]


async def test_messages_stored_before_search_existed_are_found_by_it(new_database: Callable[[], DatabaseURL]) -> None:
    url = new_database()
    create_with(url, BEFORE_MIGRATIONS)
    fill_every_table(url)
    await migrate(url)
    found = query(url, "SELECT seq FROM messages WHERE MATCH (body) AGAINST (%s IN BOOLEAN MODE)", ('+"HELLO"',))
    assert found == [(1,)]  # 'héllo 👋; -- not a comment': any case, any accents


async def test_existing_memberships_count_as_read_up_to_their_groups_newest_message(
    new_database: Callable[[], DatabaseURL],
) -> None:
    url = new_database()
    create_with(url, BEFORE_MIGRATIONS)
    fill_every_table(url)
    await migrate(url)
    assert query(url, "SELECT last_read_seq, notify FROM memberships ORDER BY id") == [(2, "all"), (2, "all")]


async def test_migrating_twice_applies_nothing_the_second_time(new_database: Callable[[], DatabaseURL]) -> None:
    url = new_database()
    assert await migrate(url)
    first = query(url, "SELECT version, name, applied_at FROM schema_migrations ORDER BY version")
    assert await migrate(url) == []
    assert query(url, "SELECT version, name, applied_at FROM schema_migrations ORDER BY version") == first


# Run by each OS process of the concurrency test: it imports everything, says so, waits for
# the word to go, migrates, and prints the names it applied.
MIGRATE_IN_A_PROCESS = """
import asyncio, json, sys
from pathlib import Path
from tornado_chat.config import DatabaseURL
from tornado_chat.store.migrate import migrate
print("ready", flush=True)
sys.stdin.readline()
print(json.dumps(asyncio.run(migrate(DatabaseURL.parse(sys.argv[1]), folder=Path(sys.argv[2])))))
"""


async def test_processes_starting_at_once_apply_each_migration_exactly_once(
    new_database: Callable[[], DatabaseURL], tmp_path: Path,
) -> None:
    # 0002 and 0003 cannot be applied twice unnoticed: a second CREATE TABLE fails, and every
    # INSERT adds a row. The sleep keeps the first process inside 0002 while the others arrive.
    folder = migrations_folder(tmp_path, {
        "0002_log.sql": "CREATE TABLE migration_log (version INT NOT NULL); DO SLEEP(0.5);\n"
                        "INSERT INTO migration_log VALUES (2);",
        "0003_log_again.sql": "INSERT INTO migration_log VALUES (3);",
    }, with_initial=True)
    url = new_database()
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    processes = [
        subprocess.Popen([sys.executable, "-c", MIGRATE_IN_A_PROCESS, url.url(), str(folder)], env=env,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    try:
        for process in processes:
            assert process.stdout is not None and process.stdout.readline() == "ready\n"
        for process in processes:
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        in_this_process = await asyncio.gather(*(migrate(url, folder=folder) for _ in range(3)))
        outputs = [process.communicate(timeout=60) for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    assert [process.returncode for process in processes] == [0, 0, 0], [err for _, err in outputs]
    every_call = in_this_process + [json.loads(out) for out, _ in outputs]
    assert sorted(name for applied in every_call for name in applied) == [
        "0001_initial.sql", "0002_log.sql", "0003_log_again.sql"]
    assert [version for version, _ in recorded(url)] == [1, 2, 3]
    assert query(url, "SELECT version FROM migration_log ORDER BY version") == [(2,), (3,)]


async def test_a_process_waits_for_the_migration_lock_of_its_own_database_only(
    new_database: Callable[[], DatabaseURL],
) -> None:
    busy, other = new_database(), new_database()
    holder = connect(busy, with_database=False)  # another process, in the middle of migrating
    try:
        with holder.cursor() as cur:
            cur.execute("SELECT GET_LOCK(%s, 0)", (lock_name(busy.database),))
            assert cur.fetchone() == (1,)
        assert await migrate(other, lock_timeout=0.5)
        with pytest.raises(MigrationError, match=r"waited 0\.5 s for another process to finish migrating"):
            await migrate(busy, lock_timeout=0.5)
    finally:
        holder.close()
    assert await migrate(busy, lock_timeout=5)


def test_the_lock_name_fits_mysql_and_differs_for_each_database() -> None:
    assert lock_name("chat") == "tornado_chat.migrate.chat"
    long_names = [lock_name("x" * 63 + end) for end in "ab"]
    assert long_names[0] != long_names[1] and all(len(name) <= 64 for name in long_names)


async def test_a_gap_in_the_numbering_is_refused_before_the_database_is_touched(
    new_database: Callable[[], DatabaseURL], tmp_path: Path,
) -> None:
    folder = migrations_folder(tmp_path, {"0001_a.sql": "CREATE TABLE a (n INT);",
                                          "0003_c.sql": "CREATE TABLE c (n INT);"})
    url = new_database()
    with pytest.raises(MigrationError, match=r"migration 2 is missing .*\(next is 0003_c\.sql\)"):
        await migrate(url, folder=folder)
    assert not exists(url)


async def test_a_number_used_twice_is_refused_before_the_database_is_touched(
    new_database: Callable[[], DatabaseURL], tmp_path: Path,
) -> None:
    folder = migrations_folder(tmp_path, {"0001_a.sql": "CREATE TABLE a (n INT);",
                                          "0002_b.sql": "CREATE TABLE b (n INT);",
                                          "0002_c.sql": "CREATE TABLE c (n INT);"})
    url = new_database()
    with pytest.raises(MigrationError, match=r"0002_b\.sql and 0002_c\.sql .* same number: renumber .* to 0003"):
        await migrate(url, folder=folder)
    assert not exists(url)


@pytest.mark.parametrize(
    ("files", "says"),
    [
        ({"0001_a.sql": "SELECT 1;", "2_b.sql": "SELECT 2;"}, r"2_b\.sql: name a migration NNNN_what_it_does\.sql"),
        ({"0001_a.sql": "SELECT 1;", "0002-b.sql": "SELECT 2;"}, r"0002-b\.sql: name a migration"),
        ({"0001_a.sql": "-- only a comment;\n"}, r"0001_a\.sql has no SQL statement"),
        ({"0001_a.sql": "SELECT 'never closed;\nSELECT 2;"}, r"0001_a\.sql, line 1: this ' is never closed"),
        ({"notes.txt": "not a migration"}, r"no migrations in .*: deploy migrations/ with the code"),
    ],
    ids=["too-few-digits", "dash", "no-statement", "unclosed-quote", "none"],
)
async def test_a_misnamed_empty_or_unreadable_migration_is_refused_before_the_database_is_touched(
    new_database: Callable[[], DatabaseURL], tmp_path: Path, files: dict[str, str], says: str,
) -> None:
    folder = migrations_folder(tmp_path, files)
    url = new_database()
    with pytest.raises(MigrationError, match=says):
        await migrate(url, folder=folder)
    assert not exists(url)


async def test_a_database_that_recorded_a_newer_migration_is_refused(
    new_database: Callable[[], DatabaseURL], tmp_path: Path,
) -> None:
    newer = migrations_folder(tmp_path / "newer", {"0002_add_nickname.sql": "ALTER TABLE users ADD nickname TEXT;"},
                              with_initial=True)
    older = migrations_folder(tmp_path / "older", {}, with_initial=True)
    url = new_database()
    await migrate(url, folder=newer)
    with pytest.raises(MigrationError, match=r"records migrations this code does not have: 0002 \(0002_add_nickname"
                                             r"\.sql\)\. Newer code has migrated it"):
        await migrate(url, folder=older)
    assert recorded(url) == [(1, "0001_initial.sql"), (2, "0002_add_nickname.sql")]


async def test_a_failing_migration_stops_there_unrecorded_and_the_error_names_its_file(
    new_database: Callable[[], DatabaseURL], tmp_path: Path,
) -> None:
    folder = migrations_folder(tmp_path, {
        "0001_a.sql": "CREATE TABLE a (n INT);",
        "0002_broken.sql": "CREATE TABLE b (n INT);\nINSERT INTO no_such_table VALUES (1);",
        "0003_c.sql": "CREATE TABLE c (n INT);",
    })
    url = new_database()
    with pytest.raises(MigrationError, match=r"migration 0002_broken\.sql failed at statement 2 of 2: "
                                             r"Table '.*no_such_table' doesn't exist\. It is not recorded"):
        await migrate(url, folder=folder)
    assert recorded(url) == [(1, "0001_a.sql")]
    tables = {row[0] for row in query(url, "SHOW TABLES")}
    assert "c" not in tables
    assert "b" in tables  # DDL commits at once: the failing migration's CREATE TABLE stays

    (folder / "0002_broken.sql").write_text("CREATE TABLE IF NOT EXISTS b (n INT);")
    assert await migrate(url, folder=folder) == ["0002_broken.sql", "0003_c.sql"]


async def test_a_migration_of_data_statements_only_is_all_or_nothing(
    new_database: Callable[[], DatabaseURL], tmp_path: Path,
) -> None:
    folder = migrations_folder(tmp_path, {
        "0001_a.sql": "CREATE TABLE a (n INT);",
        "0002_fill.sql": "INSERT INTO a VALUES (1);\nINSERT INTO no_such_table VALUES (2);",
    })
    url = new_database()
    with pytest.raises(MigrationError, match=r"0002_fill\.sql failed at statement 2 of 2"):
        await migrate(url, folder=folder)
    assert query(url, "SELECT n FROM a") == []
    assert recorded(url) == [(1, "0001_a.sql")]


async def test_semicolons_and_comment_marks_inside_string_literals_do_not_split_a_statement(
    new_database: Callable[[], DatabaseURL], tmp_path: Path,
) -> None:
    folder = migrations_folder(tmp_path, {"0001_notes.sql": (
        "CREATE TABLE notes (id INT PRIMARY KEY, body TEXT) -- a comment; with 'a quote\n;\n"
        "/* a block comment; with 'a quote */\n"
        "INSERT INTO notes VALUES (1, 'a; b -- c # d /* e */'), (2, 'it''s \\'quoted\\'; \"x\" \\\\'),\n"
        "    (3, \"double; 'quoted'\"), (4, 3--1); # a hash comment; with 'a quote\n"
    )})
    assert len(migration_files(folder)[0].statements) == 2
    url = new_database()
    await migrate(url, folder=folder)
    assert query(url, "SELECT id, body FROM notes ORDER BY id") == [
        (1, "a; b -- c # d /* e */"), (2, "it's 'quoted'; \"x\" \\"), (3, "double; 'quoted'"), (4, "4"),
    ]


async def test_a_migration_that_adds_a_column_keeps_the_rows(
    new_database: Callable[[], DatabaseURL], tmp_path: Path,
) -> None:
    """How a later issue changes a table: the next number, on top of what is deployed."""
    folder = migrations_folder(tmp_path, {}, with_initial=True)
    url = new_database()
    await migrate(url, folder=folder)
    fill_every_table(url)
    before = snapshot(url)

    (folder / "0002_add_column.sql").write_text(
        "ALTER TABLE users ADD COLUMN display_name VARCHAR(64) NOT NULL DEFAULT '' AFTER username;")
    assert await migrate(url, folder=folder) == ["0002_add_column.sql"]

    assert snapshot(url, {table: names for table, (names, _) in before.items()}) == before
    assert query(url, "SELECT id, display_name FROM users ORDER BY id") == [(1, ""), (2, "")]


async def test_groups_made_before_roles_become_public_with_their_creator_or_longest_standing_member_as_owner(
    new_database: Callable[[], DatabaseURL], tmp_path: Path,
) -> None:
    """Issue 15's migrations on a database of 0006: every group is public with no topic; its
    creator, if still a member, is its owner, else the member who joined first (the lower
    membership id when two joined at the same moment); everyone else is a member."""
    folder = tmp_path / "migrations"
    folder.mkdir()
    for migration in migration_files():
        if int(migration.name[:4]) <= 6:
            shutil.copy(MIGRATIONS_DIR / migration.name, folder / migration.name)
    url = new_database()
    assert len(await migrate(url, folder=folder)) == 6
    later = [AT + datetime.timedelta(minutes=n) for n in range(4)]
    conn = connect(url)
    try:
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO users (id, username, password_hash, created_at) VALUES (%s, %s, %s, %s)",
                            [(n, f"user{n}", "$2b$04$" + "a" * 53, AT) for n in range(1, 6)])
            cur.executemany("INSERT INTO chat_groups (id, name, name_key, created_by, created_at) "
                            "VALUES (%s, %s, %s, %s, %s)",
                            [(n, f"Group {n}", f"group {n}", 1, AT) for n in range(1, 5)])
            cur.executemany(
                "INSERT INTO memberships (id, group_id, user_id, start_seq, joined_at) VALUES (%s, %s, %s, 0, %s)", [
                    (1, 1, 1, later[0]), (2, 1, 2, later[1]),  # group 1: its creator is still there
                    (3, 2, 3, later[2]), (4, 2, 2, later[1]), (5, 2, 4, later[3]),  # 2: creator left; user 2 is first
                    (6, 3, 5, later[1]), (7, 3, 4, later[1]),  # 3: creator left; two at once: the lower id
                ])  # group 4: everyone left
    finally:
        conn.close()

    assert await migrate(url)

    assert query(url, "SELECT id, kind, topic FROM chat_groups ORDER BY id") == [
        (n, "public", "") for n in range(1, 5)]
    assert query(url, "SELECT group_id, user_id, role FROM memberships ORDER BY group_id, id") == [
        (1, 1, "owner"), (1, 2, "member"),
        (2, 3, "member"), (2, 2, "owner"), (2, 4, "member"),
        (3, 5, "owner"), (3, 4, "member"),
    ]
    assert query(url, "SELECT COUNT(*) FROM group_removals") == [(0,)]
