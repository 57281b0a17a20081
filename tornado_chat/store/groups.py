"""Groups and memberships.

A membership row is a user's current stay in a group: leaving deletes it, joining
again makes a new row (a new id) whose ``start_seq`` is where that stay's view begins.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

import pymysql

from ..models import Group, Membership, User, utcnow
from .database import Database, GroupExists, NoSuchGroup, NotMember, is_duplicate, placeholders


class GroupStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def groups(
        self, viewer_id: int, online_since: datetime.datetime, ids: Iterable[int] | None = None
    ) -> list[Group]:
        """Groups sorted by name, with member and online counts as ``viewer_id`` sees them."""
        where, args = "", [online_since, viewer_id]
        if ids is not None:
            id_list = list(ids)
            if not id_list:
                return []
            where = f"WHERE g.id IN ({placeholders(id_list)})"
            args.extend(id_list)
        rows = await self._db.all(
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

    async def create(self, name: str, name_key: str, creator_id: int) -> tuple[int, Membership]:
        """Create a group and make its creator the first member, atomically."""
        now = utcnow()
        try:
            async with self._db.transaction() as cur:
                await cur.execute(
                    "INSERT INTO chat_groups (name, name_key, created_by, created_at) VALUES (%s, %s, %s, %s)",
                    (name, name_key, creator_id, now),
                )
                group_id = cur.lastrowid
                await cur.execute(
                    "INSERT INTO memberships (group_id, user_id, start_seq, start_pos, joined_at)"
                    " VALUES (%s, %s, 0, 0, %s)",
                    (group_id, creator_id, now),
                )
                return group_id, Membership(cur.lastrowid, group_id, 0, 0)
        except pymysql.err.IntegrityError as exc:
            if is_duplicate(exc):
                raise GroupExists(name) from exc
            raise

    async def join(self, group_id: int, user_id: int) -> tuple[Membership, bool]:
        """Join (a no-op when already a member); the view starts after the newest message.

        Locking the group row orders the join against concurrent sends: a message
        is either before the join (hidden) or after it (seen), never both.
        """
        async with self._db.transaction() as cur:
            await cur.execute("SELECT last_seq, last_pos FROM chat_groups WHERE id = %s FOR UPDATE", (group_id,))
            row = await cur.fetchone()
            if row is None:
                raise NoSuchGroup(group_id)
            await cur.execute(
                "SELECT id, start_seq, start_pos FROM memberships WHERE group_id = %s AND user_id = %s",
                (group_id, user_id),
            )
            existing = await cur.fetchone()
            if existing:
                return Membership(existing[0], group_id, existing[1], existing[2]), False
            await cur.execute(
                "INSERT INTO memberships (group_id, user_id, start_seq, start_pos, joined_at)"
                " VALUES (%s, %s, %s, %s, %s)",
                (group_id, user_id, row[0], row[1], utcnow()),
            )
            return Membership(cur.lastrowid, group_id, row[0], row[1]), True

    async def leave(self, group_id: int, user_id: int) -> bool:
        """Leave; returns whether there was a membership to end."""
        if not await self._db.one("SELECT 1 FROM chat_groups WHERE id = %s", (group_id,)):
            raise NoSuchGroup(group_id)
        async with self._db.cursor() as cur:
            await cur.execute("DELETE FROM memberships WHERE group_id = %s AND user_id = %s", (group_id, user_id))
            return cur.rowcount > 0

    async def membership(self, group_id: int, user_id: int) -> Membership:
        """The user's membership of an existing group, or NoSuchGroup / NotMember."""
        row = await self._db.one(
            """SELECT g.id, m.id, m.start_seq, m.start_pos FROM chat_groups g
               LEFT JOIN memberships m ON m.group_id = g.id AND m.user_id = %s
               WHERE g.id = %s""",
            (user_id, group_id),
        )
        if row is None:
            raise NoSuchGroup(group_id)
        if row[1] is None:
            raise NotMember(group_id)
        return Membership(row[1], group_id, row[2], row[3])

    async def memberships(self, user_id: int) -> tuple[dict[int, Membership], dict[int, int]]:
        """The user's memberships by group id, and each of those groups' last log position."""
        rows = await self._db.all(
            """SELECT m.group_id, m.id, m.start_seq, m.start_pos, g.last_pos FROM memberships m
               JOIN chat_groups g ON g.id = m.group_id WHERE m.user_id = %s""",
            (user_id,),
        )
        return {r[0]: Membership(r[1], r[0], r[2], r[3]) for r in rows}, {r[0]: r[4] for r in rows}

    async def groups_of(self, user_ids: Iterable[int]) -> dict[int, list[int]]:
        """Group ids of each user's memberships, keyed by user."""
        ids = list(user_ids)
        if not ids:
            return {}
        rows = await self._db.all(
            f"SELECT user_id, group_id FROM memberships WHERE user_id IN ({placeholders(ids)})", ids
        )
        result: dict[int, list[int]] = {}
        for user_id, group_id in rows:
            result.setdefault(user_id, []).append(group_id)
        return result

    async def last_positions(self, group_ids: Iterable[int]) -> dict[int, int]:
        """Each group's newest log position."""
        ids = list(group_ids)
        if not ids:
            return {}
        rows = await self._db.all(f"SELECT id, last_pos FROM chat_groups WHERE id IN ({placeholders(ids)})", ids)
        return {r[0]: r[1] for r in rows}

    async def last_pos(self, group_id: int) -> int:
        row = await self._db.one("SELECT last_pos FROM chat_groups WHERE id = %s", (group_id,))
        if row is None:
            raise NoSuchGroup(group_id)
        return row[0]
