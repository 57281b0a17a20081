"""Who was seen when: the ``presence`` table, written in batches and expired by a sweep."""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from ..models import User
from .accounts import USER_COLUMNS
from .database import Database, placeholders, retried_on_conflict


class PresenceStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    @retried_on_conflict
    async def mark_present(
        self, seen: dict[int, datetime.datetime], online_since: datetime.datetime
    ) -> set[int]:
        """Write last-seen times in one statement; returns who was not online before."""
        if not seen:
            return set()
        ids = list(seen)
        async with self._db.transaction() as cur:
            await cur.execute(
                f"SELECT user_id FROM presence WHERE user_id IN ({placeholders(ids)}) AND last_seen > %s FOR UPDATE",
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

    @retried_on_conflict
    async def expire(self, online_since: datetime.datetime) -> set[int]:
        """Delete presence older than ``online_since``; returns whose it was. When nothing
        is stale (most sweeps) this is one plain read, not a locking transaction."""
        if not await self._db.one("SELECT 1 FROM presence WHERE last_seen <= %s LIMIT 1", (online_since,)):
            return set()
        async with self._db.transaction() as cur:
            await cur.execute("SELECT user_id FROM presence WHERE last_seen <= %s FOR UPDATE", (online_since,))
            gone = [r[0] for r in await cur.fetchall()]
            if gone:
                await cur.execute(f"DELETE FROM presence WHERE user_id IN ({placeholders(gone)})", gone)
        return set(gone)

    async def is_online(self, user_id: int, online_since: datetime.datetime) -> bool:
        return await self._db.one(
            "SELECT 1 FROM presence WHERE user_id = %s AND last_seen > %s", (user_id, online_since)
        ) is not None

    async def online_members(
        self, group_ids: Iterable[int], online_since: datetime.datetime
    ) -> dict[int, list[User]]:
        """Each group's members who are online, by username."""
        ids = list(group_ids)
        result: dict[int, list[User]] = {gid: [] for gid in ids}
        if not ids:
            return result
        rows = await self._db.all(
            f"""SELECT m.group_id, {USER_COLUMNS} FROM memberships m
                JOIN presence p ON p.user_id = m.user_id AND p.last_seen > %s
                JOIN users u ON u.id = m.user_id
                WHERE m.group_id IN ({placeholders(ids)}) ORDER BY u.username""",
            (online_since, *ids),
        )
        for group_id, user_id, username in rows:
            result[group_id].append(User(user_id, username))
        return result
