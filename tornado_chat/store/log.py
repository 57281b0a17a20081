"""Reading a group's log back: what a cursor older than a process's memory needs.

The log's entries are the messages never changed (their row in ``messages``, version 1,
at their ``pos``) and the rows of ``group_log`` (changes, and the first version of a
message that changed). Every position from 1 to the group's ``last_pos`` is one of them.
The two are read in that order and merged: a message that changes between the two reads
has its first version in ``group_log`` by the second (the change's transaction wrote it),
so no position is missed; one read both ways is the same entry.
"""

from __future__ import annotations

import datetime

import aiomysql

from .. import wire
from ..models import GROUP_ENTRY_SEQ, LogEntry, timestamp
from ..validation import MAX_ID
from . import message_rows
from .database import Database


class LogStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def after(self, group_id: int, pos: int, start_seq: int, limit: int) -> list[LogEntry]:
        """Up to ``limit`` entries after ``pos`` about messages with seq > ``start_seq`` or about the
        group itself, in order."""
        return await self._read(group_id, "> %s", pos, start_seq, limit, "ASC")

    async def newest(self, group_id: int, limit: int) -> list[LogEntry]:
        """The group's last ``limit`` entries, in order (to fill a process's memory)."""
        return (await self._read(group_id, "<= %s", MAX_ID, 0, limit, "DESC"))[::-1]

    async def _read(
        self, group_id: int, bound: str, pos: int, start_seq: int, limit: int, order: str
    ) -> list[LogEntry]:
        async with self._db.cursor() as cur:
            unchanged = await message_rows.read(
                cur,
                f"m.group_id = %s AND m.pos {bound} AND m.seq > %s AND m.version = 1",
                (group_id, pos, start_seq, limit),
                f"ORDER BY m.pos {order} LIMIT %s",
            )
            await cur.execute(
                f"""SELECT pos, seq, event, created_at FROM group_log
                    WHERE group_id = %s AND pos {bound} AND (seq > %s OR seq = %s) ORDER BY pos {order} LIMIT %s""",
                (group_id, pos, start_seq, GROUP_ENTRY_SEQ, limit),
            )
            rows = await cur.fetchall()
        logged = {pos: LogEntry(group_id, pos, seq, event, timestamp(at)) for pos, seq, event, at in rows}
        for m in unchanged:
            logged.setdefault(m.pos, LogEntry(group_id, m.pos, m.seq, wire.message_event(m), timestamp(m.created_at)))
        return sorted(logged.values(), key=lambda e: e.pos, reverse=order == "DESC")[:limit]


async def record(cur: aiomysql.Cursor, group_id: int, pos: int, seq: int, event: str, now: datetime.datetime) -> None:
    """Write one entry of the group's log, inside the transaction that holds the group's row lock."""
    await cur.execute(
        "INSERT INTO group_log (group_id, pos, seq, event, created_at) VALUES (%s, %s, %s, %s, %s)",
        (group_id, pos, seq, event, now),
    )


async def append_group_entries(
    cur: aiomysql.Cursor, group_id: int, last_pos: int, events: list[str], now: datetime.datetime
) -> list[LogEntry]:
    """Entries about the group itself (its details, members' roles) after ``last_pos``, which
    the caller read under the group's row lock; the group's log position moves past them."""
    entries = []
    for pos, event in enumerate(events, start=last_pos + 1):
        await record(cur, group_id, pos, GROUP_ENTRY_SEQ, event, now)
        entries.append(LogEntry(group_id, pos, GROUP_ENTRY_SEQ, event, timestamp(now)))
    if entries:
        await cur.execute("UPDATE chat_groups SET last_pos = %s WHERE id = %s", (entries[-1].pos, group_id))
    return entries
