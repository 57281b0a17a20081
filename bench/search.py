#!/usr/bin/env python3
"""Search at size: p50/p99 of typical queries over 1,000,000 messages in 1,000 groups, and the
query plan MariaDB chooses.

Why: search is InnoDB's own FULLTEXT index (``store/search.py``), read in boolean mode with
every word required, then filtered to what the searcher may see (their groups, after their
join, not deleted) and sorted newest first. Whether that stays fast when a word matches a
hundred thousand messages is the question; if it does not, the answer is an existing search
engine, not a home-made index.

How: a private MariaDB (or a throwaway database on --database-url) and ``run.py``, which makes
the schema. The messages are written straight into MySQL, in multi-row INSERTs, with the
full-text index dropped meanwhile and built again after (as a bulk load would): ``--groups``
groups of ``--messages / --groups`` messages each, texts of 6 to 20 words drawn from a
vocabulary of 5,000 words with a Zipf-like spread (the most common word is in about a tenth of
the messages), plus one rare word in every 10,000th message. The searcher belongs to
``--member-of`` groups. Each query is asked ``--runs`` times through ``GET /api/search`` on one
keep-alive connection (rate limits off); the table gives, per query, how many messages it
matches in the searcher's groups, and p50/p99 of its answer.

Run from the repository root: ``python bench/search.py [--messages N] [--groups N]``.
Output: one JSON object on a line, then a table and the plans.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import subprocess
import sys
import time
import urllib.parse
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pymysql  # noqa: E402
from send_to_receive import (  # noqa: E402
    BenchError,
    Connection,
    add_common_arguments,
    common_fields,
    register,
    run_against_one_server,
    wait_healthy,
)

from tornado_chat.config import DatabaseURL  # noqa: E402
from tornado_chat.store.search import boolean_query  # noqa: E402

SCENARIO = "search"
VOCABULARY = 5000
BATCH = 5000  # rows per INSERT
RARE_EVERY = 10_000
WHEN = datetime(2026, 1, 1)


def word(rank: int) -> str:
    """The vocabulary's word of a rank: pronounceable, 4 to 9 letters, all different."""
    syllables = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "pa"]
    out, n = "", rank + 100
    while n:
        out += syllables[n % 10]
        n //= 10
    return out


def texts(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    weights = [1 / (rank + 1) for rank in range(VOCABULARY)]
    ranks = list(range(VOCABULARY))
    out = []
    for n in range(count):
        words = [word(r) for r in rng.choices(ranks, weights, k=rng.randint(6, 20))]
        if n % RARE_EVERY == 0:
            words.append("zyzzyva")
        out.append(" ".join(words))
    return out


def load(url: str, messages: int, groups: int, user_id: int, member_of: int) -> float:
    """Write the groups and messages straight into MySQL; the seconds the index took to build."""
    conn = pymysql.connect(autocommit=True, **DatabaseURL.parse(url).connect_kwargs())
    per_group = messages // groups
    try:
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO chat_groups (name, name_key, created_by, created_at, last_seq, last_pos)"
                " VALUES (%s, %s, %s, %s, %s, %s)",
                [(f"search group {g}", f"search group {g}", user_id, WHEN, per_group, per_group)
                 for g in range(groups)],
            )
            cur.execute("SELECT id FROM chat_groups WHERE name_key LIKE 'search group %%' ORDER BY id")
            group_ids = [r[0] for r in cur.fetchall()]
            cur.executemany(
                "INSERT INTO memberships (group_id, user_id, role, start_seq, start_pos, joined_at)"
                " VALUES (%s, %s, 'member', 0, 0, %s)",
                [(gid, user_id, WHEN) for gid in group_ids[:member_of]],
            )
            cur.execute("ALTER TABLE messages DROP INDEX messages_body_search")
            body = texts(messages, 20261130)
            rows = [
                (gid, seq, user_id, "text", body[i * per_group + seq - 1], WHEN, seq)
                for i, gid in enumerate(group_ids) for seq in range(1, per_group + 1)
            ]
            for start in range(0, len(rows), BATCH):
                cur.executemany(
                    "INSERT INTO messages (group_id, seq, user_id, kind, body, created_at, pos)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s)",
                    rows[start : start + BATCH],
                )
            started = time.monotonic()
            # COPY: an in-place build after a drop left the index empty here (MariaDB 10.11)
            cur.execute("ALTER TABLE messages ADD FULLTEXT INDEX messages_body_search (body), ALGORITHM=COPY")
            cur.execute("ANALYZE TABLE messages, memberships")
            return time.monotonic() - started
    finally:
        conn.close()


def search_where(user_id: int, words: list[str], group_id: int | None) -> tuple[str, list[Any]]:
    """The WHERE of the statement ``store/search.py`` runs, and its arguments."""
    where = (
        "MATCH (m.body) AGAINST (%s IN BOOLEAN MODE) AND m.deleted_at IS NULL AND EXISTS (SELECT 1 FROM"
        " memberships ms WHERE ms.group_id = m.group_id AND ms.user_id = %s AND ms.start_seq < m.seq)"
    )
    args: list[Any] = [boolean_query(words), user_id]
    if group_id is not None:
        where += " AND m.group_id = %s"
        args.append(group_id)
    return where, args


def plan(url: str, user_id: int, words: list[str], group_id: int | None) -> list[dict[str, Any]]:
    """EXPLAIN of the statement ``store/search.py`` runs (its WHERE, order and limit)."""
    where, args = search_where(user_id, words, group_id)
    conn = pymysql.connect(**DatabaseURL.parse(url).connect_kwargs(), cursorclass=pymysql.cursors.DictCursor)
    try:
        with conn.cursor() as cur:
            cur.execute(f"EXPLAIN SELECT m.id FROM messages m WHERE {where} ORDER BY m.id DESC LIMIT 20", args)
            return [{k: v for k, v in row.items() if v is not None} for row in cur.fetchall()]
    finally:
        conn.close()


async def reconnected(port: int, token: str | None) -> Connection:
    conn = await Connection.open(port)
    conn.token = token
    return conn


def direct(url: str, user_id: int, words: list[str], group_id: int | None) -> tuple[float, int]:
    """The store's statement (its WHERE, order and limit) run once straight on MySQL, with no
    timeout: how long it takes, and how many rows it answers."""
    where, args = search_where(user_id, words, group_id)
    conn = pymysql.connect(**DatabaseURL.parse(url).connect_kwargs())
    try:
        with conn.cursor() as cur:
            t0 = time.perf_counter()
            cur.execute(f"SELECT m.id FROM messages m WHERE {where} ORDER BY m.id DESC LIMIT 20", args)
            rows = cur.fetchall()
            return (time.perf_counter() - t0) * 1000, len(rows)
    finally:
        conn.close()


def matches(url: str, user_id: int, words: list[str]) -> int:
    conn = pymysql.connect(**DatabaseURL.parse(url).connect_kwargs())
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT COUNT(*) FROM messages m JOIN memberships ms ON ms.group_id = m.group_id AND ms.user_id = %s"
                " WHERE MATCH (m.body) AGAINST (%s IN BOOLEAN MODE)",
                (user_id, boolean_query(words)),
            )
            return cur.fetchone()[0]
    finally:
        conn.close()


async def bench(server: subprocess.Popen[bytes], port: int, url: str, args: argparse.Namespace) -> dict[str, Any]:
    await wait_healthy(server, port)
    searcher = await register(port, f"searcher{random.randrange(10**9)}")
    me = await searcher.request("GET", "/api/me")
    user_id = me["user"]["id"]
    index_s = await asyncio.to_thread(load, url, args.messages, args.groups, user_id, args.member_of)
    searcher = await reconnected(port, searcher.token)  # the first went idle meanwhile
    some_group = (await searcher.request("GET", "/api/me"))["groups"][0]["id"]
    queries = {
        "a common word": ([word(0)], None),
        "a middling word": ([word(200)], None),
        "a rare word": (["zyzzyva"], None),
        "two common words": ([word(0), word(1)], None),
        "common + rare": ([word(0), "zyzzyva"], None),
        "a common word, one group": ([word(0)], some_group),
        "a word in no message": (["nowhereword"], None),
    }
    results = {}
    for name, (words, group_id) in queries.items():
        params = {"q": " ".join(words), **({"group_id": group_id} if group_id else {})}
        path = "/api/search?" + urllib.parse.urlencode(params)
        sql_ms, answered = await asyncio.to_thread(direct, url, user_id, words, group_id)
        times, failed = [], 0
        for _ in range(args.runs):
            t0 = time.perf_counter()
            try:
                await searcher.request("GET", path)
            except BenchError:  # 503: the query outlived the server's database timeout (5 s)
                failed += 1
                searcher = await reconnected(port, searcher.token)
                continue
            times.append(time.perf_counter() - t0)
            if failed and len(times) + failed >= 3:
                break  # a query that times out is not asked fifty times
        cuts = statistics.quantiles(times, n=100, method="inclusive") if len(times) > 1 else None
        results[name] = {
            "words": words, "group_id": group_id, "matches_in_my_groups": matches(url, user_id, words),
            "answered": answered, "sql_ms": sql_ms, "failed": failed, "runs": len(times) + failed,
            "p50_ms": statistics.median(times) * 1000 if times else None,
            "p99_ms": cuts[98] * 1000 if cuts else None,
            "plan": plan(url, user_id, words, group_id),
        }
    return {
        "scenario": SCENARIO, "messages": args.messages, "groups": args.groups, "member_of": args.member_of,
        "runs": args.runs, "index_build_s": index_s, "queries": results, **common_fields(),
    }


def table(result: dict[str, Any]) -> str:
    lines = [
        f"search over {result['messages']:,} messages in {result['groups']:,} groups, the searcher in "
        f"{result['member_of']} of them ({result['runs']} runs each; the index built in "
        f"{result['index_build_s']:.0f} s):",
        f"  {'query':<28} {'matches':>9} {'SQL once':>10} {'p50':>9} {'p99':>9} {'timed out':>10}",
    ]

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f}ms"

    for name, q in result["queries"].items():
        lines.append(
            f"  {name:<28} {q['matches_in_my_groups']:>9,} {ms(q['sql_ms']):>10} {ms(q['p50_ms']):>9} "
            f"{ms(q['p99_ms']):>9} {q['failed']:>4} of {q['runs']}"
        )
    lines.append("plans (EXPLAIN):")
    for name, q in result["queries"].items():
        for row in q["plan"]:
            lines.append(f"  {name}: {row}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000, help="messages in all (default 1,000,000)")
    parser.add_argument("--groups", type=int, default=1000, help="groups they are spread over (default 1,000)")
    parser.add_argument("--member-of", type=int, default=100, help="groups the searcher belongs to (default 100)")
    parser.add_argument("--runs", type=int, default=50, help="times each query is asked (default 50)")
    add_common_arguments(parser)
    args = parser.parse_args(argv)
    return run_against_one_server(
        SCENARIO, args, lambda server, port: bench(server, port, args.bench_database, args), table,
        flags=("--search-limit", "off"),
    )


if __name__ == "__main__":
    sys.exit(main())
