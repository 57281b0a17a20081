"""Groups and memberships: list, create, join, leave, and the standing a user has in a group.

A membership row is a user's current stay in a group: leaving deletes it, joining
again makes a new row (a new id) whose ``start_seq`` is where that stay's view begins.
Who may do what is ``permissions``' to say; this module reads the standing it needs,
under the group's row lock where a write follows.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field

import aiomysql
import pymysql

from .. import permissions, wire
from ..errors import GroupExists, NoSuchGroup
from ..models import Group, LogEntry, Member, Membership, ReadState, User, utcnow
from ..permissions import Action, Standing
from .database import Database, is_duplicate, placeholders, retried_on_conflict
from .log import append_group_entries
from .read_state import UNREAD, UNREAD_MENTIONS

NOBODY = 0  # a viewer id no user has: the group as a log entry shows it to everyone alike
# A direct group somebody else opened that has no message yet: neither listed for the other
# user nor carried by their polls until its first message opens it for them.
_UNOPENED_DIRECT = f"(g.kind = '{permissions.DIRECT}' AND g.last_seq = 0 AND g.created_by <> {{member}})"

_GROUP_COLUMNS = """
    g.id, g.name, g.created_at, u.id, u.username,
    (SELECT COUNT(*) FROM memberships c WHERE c.group_id = g.id),
    (SELECT COUNT(*) FROM memberships c JOIN presence p ON p.user_id = c.user_id
      WHERE c.group_id = g.id AND p.last_seen > %s),
    m.role, g.kind, g.topic, peer.id, peer.username, r.banned, by_user.id, by_user.username,
    m.last_read_seq, m.notify, {unread}, {unread_mentions}
""".format(unread=UNREAD.format(viewer="%s", upto=""), unread_mentions=UNREAD_MENTIONS.format(viewer="%s", upto=""))
_GROUP_JOINS = """
    FROM chat_groups g JOIN users u ON u.id = g.created_by
    LEFT JOIN memberships m ON m.group_id = g.id AND m.user_id = %s
    LEFT JOIN users peer ON peer.id = (CASE WHEN g.direct_lo = %s THEN g.direct_hi ELSE g.direct_lo END)
    LEFT JOIN group_removals r ON r.group_id = g.id AND r.user_id = %s
    LEFT JOIN users by_user ON by_user.id = r.removed_by
"""


def _user(user_id: int | None, username: str | None) -> User | None:
    return None if user_id is None else User(user_id, username or "")


async def read_groups(
    cur: aiomysql.Cursor,
    viewer_id: int,
    online_since: datetime.datetime,
    ids: Iterable[int] | None = None,
    visible_only: bool = True,
    listing: bool = False,
) -> list[Group]:
    """Groups sorted by name as ``viewer_id`` sees them (their role, the peer of a direct group,
    why they were removed); ``visible_only``: only public groups and the viewer's own; ``listing``:
    also not a direct group somebody else opened and nobody has written in yet (as its polls)."""
    conditions, args = [], [online_since, *[viewer_id] * 3, *[viewer_id] * 3]  # the columns', then the joins'
    if ids is not None:
        id_list = list(ids)
        if not id_list:
            return []
        conditions.append(f"g.id IN ({placeholders(id_list)})")
        args.extend(id_list)
    if visible_only:
        conditions.append("(g.kind = 'public' OR m.id IS NOT NULL)")
    if listing:
        conditions.append(f"NOT {_UNOPENED_DIRECT.format(member='%s')}")
        args.append(viewer_id)
    where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
    await cur.execute(
        f"SELECT {_GROUP_COLUMNS} {_GROUP_JOINS} {where} ORDER BY COALESCE(g.name_key, LOWER(g.name)), g.id", args
    )
    return [
        Group(
            id=r[0], name=r[1], created_at=r[2], created_by=User(r[3], r[4]), members=r[5], online=r[6],
            joined=r[7] is not None, role=r[7], kind=r[8], topic=r[9], peer=_user(r[10], r[11]),
            removed_by=_user(r[13], r[14]), banned=bool(r[12]),
            read=None if r[7] is None else ReadState(r[0], r[15], r[17], r[18], r[16]),
        )
        for r in await cur.fetchall()
    ]


@dataclass(frozen=True)
class Locked:
    """A group read under its row lock with the caller's standing in it."""

    group_id: int
    last_seq: int
    last_pos: int
    standing: Standing
    membership: Membership | None


async def lock_group(cur: aiomysql.Cursor, group_id: int, user_id: int, for_update: bool = True) -> Locked:
    """Lock the group's row (which orders every write to the group, in every process) and read
    the user's standing in it: their membership and whether they are banned. A read that
    writes nothing asks without the lock."""
    await cur.execute(
        f"""SELECT g.last_seq, g.last_pos, g.kind, m.id, m.start_seq, m.start_pos, m.role, r.banned,
                   m.last_read_seq, m.notify
            FROM chat_groups g
            LEFT JOIN memberships m ON m.group_id = g.id AND m.user_id = %s
            LEFT JOIN group_removals r ON r.group_id = g.id AND r.user_id = %s
            WHERE g.id = %s {"FOR UPDATE" if for_update else ""}""",
        (user_id, user_id, group_id),
    )
    row = await cur.fetchone()
    if row is None:
        raise NoSuchGroup(group_id)
    membership = None if row[3] is None else Membership(row[3], group_id, row[4], row[5], row[6], row[8], row[9])
    return Locked(group_id, row[0], row[1], Standing(row[2], row[6], bool(row[7])), membership)


async def group_changed_entries(
    cur: aiomysql.Cursor, locked: Locked, online_since: datetime.datetime, extra: list[str] | None = None
) -> list[LogEntry]:
    """Log ``extra`` events and then the group as it now is (``group_changed``), in the
    transaction that changed it."""
    (group,) = await read_groups(cur, NOBODY, online_since, [locked.group_id], visible_only=False)
    events = [*(extra or []), wire.group_changed_event(group)]
    return await append_group_entries(cur, locked.group_id, locked.last_pos, events, utcnow())


@dataclass(frozen=True)
class Left:
    """A membership that ended; when it was the owner's, who owns the group now and the log
    entries that say so."""

    heir: User | None = None
    entries: list[LogEntry] = field(default_factory=list)


class GroupStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def groups(
        self,
        viewer_id: int,
        online_since: datetime.datetime,
        ids: Iterable[int] | None = None,
        visible_only: bool = True,
        listing: bool = False,
    ) -> list[Group]:
        """Groups sorted by name, with member and online counts, as ``viewer_id`` sees them."""
        async with self._db.cursor() as cur:
            return await read_groups(cur, viewer_id, online_since, ids, visible_only, listing)

    async def group(self, group_id: int, viewer_id: int, online_since: datetime.datetime) -> Group:
        found = await self.groups(viewer_id, online_since, [group_id])
        if not found:
            raise NoSuchGroup(group_id)
        return found[0]

    @retried_on_conflict
    async def create(
        self, name: str, name_key: str, creator_id: int, kind: str = permissions.PUBLIC, topic: str = ""
    ) -> int:
        """Create a group with its creator as owner and first member, atomically."""
        now = utcnow()
        try:
            async with self._db.transaction() as cur:
                await cur.execute(
                    "INSERT INTO chat_groups (name, name_key, kind, topic, created_by, created_at)"
                    " VALUES (%s, %s, %s, %s, %s, %s)",
                    (name, name_key, kind, topic, creator_id, now),
                )
                group_id = cur.lastrowid
                await insert_membership(cur, group_id, creator_id, 0, 0, permissions.OWNER)
                return group_id
        except pymysql.err.IntegrityError as exc:
            if is_duplicate(exc):
                raise GroupExists(name) from exc
            raise

    @retried_on_conflict
    async def join(self, group_id: int, user_id: int) -> bool:
        """Join a public group (a no-op when already a member); the view starts after the newest
        message. Locking the group row orders the join against concurrent sends: a message is
        either before the join (hidden) or after it (seen), never both. True when it joined."""
        async with self._db.transaction() as cur:
            locked = await lock_group(cur, group_id, user_id)
            if locked.membership is not None:
                permissions.require(group_id, locked.standing, Action.READ)
                return False
            permissions.require(group_id, locked.standing, Action.JOIN)
            await add_membership(cur, locked, user_id)
            return True

    @retried_on_conflict
    async def leave(
        self, group_id: int, user_id: int, online_since: datetime.datetime, closing: bool = False
    ) -> Left | None:
        """Leave (None: there was no membership to end). An owner's leaving makes the member who
        has been there longest (a moderator first) owner. ``closing``: the account closes, and
        even a direct group's membership ends."""
        async with self._db.transaction() as cur:
            locked = await lock_group(cur, group_id, user_id)
            if locked.membership is None:
                if locked.standing.hidden:
                    raise NoSuchGroup(group_id)
                return None
            if not closing:
                permissions.require(group_id, locked.standing, Action.LEAVE)
            await cur.execute("DELETE FROM memberships WHERE id = %s", (locked.membership.id,))
            if locked.standing.role != permissions.OWNER:
                return Left()
            await cur.execute(
                """SELECT m.id, u.id, u.username, m.joined_at FROM memberships m JOIN users u ON u.id = m.user_id
                   WHERE m.group_id = %s ORDER BY m.role = 'moderator' DESC, m.joined_at, m.id LIMIT 1""",
                (group_id,),
            )
            heir = await cur.fetchone()
            if heir is None:
                return Left()
            await cur.execute("UPDATE memberships SET role = %s WHERE id = %s", (permissions.OWNER, heir[0]))
            member = Member(User(heir[1], heir[2]), permissions.OWNER, heir[3])
            heir_event = wire.member_changed_event(group_id, member)
            return Left(member.user, await group_changed_entries(cur, locked, online_since, [heir_event]))

    async def standing(self, group_id: int, user_id: int) -> tuple[Standing, Membership | None]:
        """The user's standing in a group, and their membership; NoSuchGroup if it does not exist."""
        async with self._db.cursor() as cur:
            locked = await lock_group(cur, group_id, user_id, for_update=False)
        return locked.standing, locked.membership

    async def membership(self, group_id: int, user_id: int) -> Membership:
        """The user's membership of a group they may read: NoSuchGroup for a group that does not
        exist or that they may not know of, NotMember for a public group they are not in."""
        standing, membership = await self.standing(group_id, user_id)
        permissions.require(group_id, standing, Action.READ)
        assert membership is not None
        return membership

    async def memberships(self, user_id: int) -> tuple[dict[int, Membership], dict[int, int]]:
        """The memberships the user's polls carry, by group id, and each of those groups' last log
        position. A direct group somebody else opened reaches the user's polls with its first
        message, not before: an empty conversation opens no tab."""
        rows = await self._db.all(
            f"""SELECT m.group_id, m.id, m.start_seq, m.start_pos, m.role, m.last_read_seq, m.notify, g.last_pos
                FROM memberships m
               JOIN chat_groups g ON g.id = m.group_id
               WHERE m.user_id = %s AND NOT {_UNOPENED_DIRECT.format(member="m.user_id")}""",
            (user_id,),
        )
        return {r[0]: Membership(r[1], r[0], *r[2:7]) for r in rows}, {r[0]: r[7] for r in rows}

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

    async def last_seq(self, group_id: int) -> int:
        row = await self._db.one("SELECT last_seq FROM chat_groups WHERE id = %s", (group_id,))
        if row is None:
            raise NoSuchGroup(group_id)
        return row[0]

    async def last_pos(self, group_id: int) -> int:
        row = await self._db.one("SELECT last_pos FROM chat_groups WHERE id = %s", (group_id,))
        if row is None:
            raise NoSuchGroup(group_id)
        return row[0]


async def insert_membership(
    cur: aiomysql.Cursor, group_id: int, user_id: int, start_seq: int, start_pos: int, role: str = permissions.MEMBER
) -> None:
    """A membership row: the member sees the group's messages after ``start_seq`` (log ``start_pos``)."""
    await cur.execute(
        "INSERT INTO memberships (group_id, user_id, role, start_seq, start_pos, joined_at)"
        " VALUES (%s, %s, %s, %s, %s, %s)",
        (group_id, user_id, role, start_seq, start_pos, utcnow()),
    )


async def add_membership(cur: aiomysql.Cursor, locked: Locked, user_id: int) -> None:
    """A new member (under the group's row lock) whose view starts at the group's newest
    message; a removal of theirs that was not a ban is forgotten."""
    await insert_membership(cur, locked.group_id, user_id, locked.last_seq, locked.last_pos)
    await cur.execute(
        "DELETE FROM group_removals WHERE group_id = %s AND user_id = %s AND NOT banned", (locked.group_id, user_id)
    )


async def direct_peer(cur: aiomysql.Cursor, group_id: int, user_id: int) -> User | None:
    """The other user of a direct group (None in one's own)."""
    await cur.execute(
        """SELECT u.id, u.username FROM chat_groups g
           JOIN users u ON u.id = (CASE WHEN g.direct_lo = %s THEN g.direct_hi ELSE g.direct_lo END)
           WHERE g.id = %s AND u.id <> %s""",
        (user_id, group_id, user_id),
    )
    row = await cur.fetchone()
    return None if row is None else User(row[0], row[1])
