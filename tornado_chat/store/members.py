"""A group's members and its details: the members list, adding, roles, removing and banning,
renaming, and direct groups.

Every write locks the group's row first (as a send does), reads the actor's standing in
the same transaction and asks ``permissions`` before it writes; a change that the group's
members must hear of (a rename, a role) is an entry of the group's log written in the
same transaction, so it reaches every poll exactly once, in order with the messages.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import aiomysql
import pymysql

from .. import permissions, validation, wire
from ..errors import Banned, GroupExists, MemberNotFound, NotAllowed, UserNotFound
from ..models import LogEntry, Member, User, utcnow
from ..permissions import Action
from .database import Database, is_duplicate, retried_on_conflict
from .groups import add_membership, group_changed_entries, insert_membership, lock_group
from .log import append_group_entries


@dataclass(frozen=True)
class Removal:
    """Who was removed, and whether they were a member until now (a ban may come first)."""

    user: User
    was_member: bool


async def _user_named(cur: aiomysql.Cursor, username: str) -> User:
    """The user of that name, whatever its case (a name no user could have is nobody's: the
    ASCII column cannot even compare it); a closed account is nobody's to add or write to."""
    if not validation.USERNAME_RE.match(username):
        raise UserNotFound(username)
    await cur.execute("SELECT id, username FROM users WHERE username = %s AND closed_at IS NULL", (username,))
    row = await cur.fetchone()
    if row is None:
        raise UserNotFound(username)
    return User(row[0], row[1])


async def _member(cur: aiomysql.Cursor, group_id: int, user_id: int) -> Member | None:
    await cur.execute(
        """SELECT u.id, u.username, m.role, m.joined_at FROM memberships m JOIN users u ON u.id = m.user_id
           WHERE m.group_id = %s AND m.user_id = %s""",
        (group_id, user_id),
    )
    row = await cur.fetchone()
    return None if row is None else Member(User(row[0], row[1]), row[2], row[3])


class MemberStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def members(self, group_id: int, viewer_id: int) -> list[Member]:
        """The members list (members only): the owner, then moderators, then members, by name."""
        async with self._db.cursor() as cur:
            locked = await lock_group(cur, group_id, viewer_id, for_update=False)
            permissions.require(group_id, locked.standing, Action.READ)
            await cur.execute(
                """SELECT u.id, u.username, m.role, m.joined_at FROM memberships m JOIN users u ON u.id = m.user_id
                   WHERE m.group_id = %s ORDER BY FIELD(m.role, 'owner', 'moderator', 'member'), u.username""",
                (group_id,),
            )
            return [Member(User(r[0], r[1]), r[2], r[3]) for r in await cur.fetchall()]

    @retried_on_conflict
    async def add(self, group_id: int, actor_id: int, username: str) -> User | None:
        """Add a user (their view starts now, like a join); the user, or None when they were
        a member already."""
        async with self._db.transaction() as cur:
            locked = await lock_group(cur, group_id, actor_id)
            permissions.require(group_id, locked.standing, Action.ADD_MEMBER)
            user = await _user_named(cur, username)
            await cur.execute(
                "SELECT m.id, r.banned FROM users u"
                " LEFT JOIN memberships m ON m.group_id = %s AND m.user_id = u.id"
                " LEFT JOIN group_removals r ON r.group_id = %s AND r.user_id = u.id WHERE u.id = %s",
                (group_id, group_id, user.id),
            )
            membership_id, banned = await cur.fetchone()
            if membership_id is not None:
                return None
            if banned:
                raise Banned(group_id)
            await add_membership(cur, locked, user.id)
            return user

    @retried_on_conflict
    async def set_role(
        self, group_id: int, actor_id: int, target_id: int, role: str
    ) -> tuple[Member, list[LogEntry]]:
        """The owner makes a member a moderator or a moderator a member; the owner's own role
        never changes this way. Returns the member and the change's log entry (none: no change)."""
        async with self._db.transaction() as cur:
            locked = await lock_group(cur, group_id, actor_id)
            permissions.require(group_id, locked.standing, Action.SET_ROLE)
            member = await _member(cur, group_id, target_id)
            if member is None:
                raise MemberNotFound(target_id)
            if member.role == permissions.OWNER:
                raise NotAllowed(group_id)
            if member.role == role:
                return member, []
            await cur.execute(
                "UPDATE memberships SET role = %s WHERE group_id = %s AND user_id = %s", (role, group_id, target_id)
            )
            changed = Member(member.user, role, member.joined_at)
            event = wire.member_changed_event(group_id, changed)
            return changed, await append_group_entries(cur, group_id, locked.last_pos, [event], utcnow())

    @retried_on_conflict
    async def remove(self, group_id: int, actor_id: int, target_id: int, ban: bool) -> Removal:
        """Remove a member (the owner: anyone but themself; a moderator: plain members), and with
        ``ban`` keep them out. A non-member may be banned before they come."""
        async with self._db.transaction() as cur:
            locked = await lock_group(cur, group_id, actor_id)
            permissions.require(group_id, locked.standing, Action.REMOVE)
            if target_id == actor_id:
                raise NotAllowed(group_id)
            member = await _member(cur, group_id, target_id)
            if member is None:
                if not ban:
                    raise MemberNotFound(target_id)
                await cur.execute("SELECT id, username FROM users WHERE id = %s", (target_id,))
                row = await cur.fetchone()
                if row is None:
                    raise MemberNotFound(target_id)
                target = User(row[0], row[1])
            else:
                if not permissions.may_remove(locked.standing.role or "", member.role):
                    raise NotAllowed(group_id)
                target = member.user
                await cur.execute(
                    "DELETE FROM memberships WHERE group_id = %s AND user_id = %s", (group_id, target_id)
                )
            await cur.execute(
                """INSERT INTO group_removals (group_id, user_id, removed_by, banned, created_at)
                   VALUES (%s, %s, %s, %s, %s)
                   ON DUPLICATE KEY UPDATE removed_by = VALUES(removed_by),
                                           banned = banned OR VALUES(banned), created_at = VALUES(created_at)""",
                (group_id, target_id, actor_id, ban, utcnow()),
            )
            return Removal(target, member is not None)

    @retried_on_conflict
    async def unban(self, group_id: int, actor_id: int, target_id: int) -> None:
        """Lift a ban (owner or moderator); lifting one that is not there changes nothing."""
        async with self._db.transaction() as cur:
            locked = await lock_group(cur, group_id, actor_id)
            permissions.require(group_id, locked.standing, Action.REMOVE)
            await cur.execute(
                "DELETE FROM group_removals WHERE group_id = %s AND user_id = %s AND banned", (group_id, target_id)
            )

    @retried_on_conflict
    async def edit(
        self,
        group_id: int,
        actor_id: int,
        online_since: datetime.datetime,
        name: tuple[str, str] | None,
        topic: str | None,
    ) -> list[LogEntry]:
        """Rename (``name``: the name and its key) and/or set the topic (owner or moderator);
        the ``group_changed`` entry, or none when nothing changed."""
        try:
            async with self._db.transaction() as cur:
                locked = await lock_group(cur, group_id, actor_id)
                permissions.require(group_id, locked.standing, Action.EDIT_GROUP)
                await cur.execute("SELECT name, topic FROM chat_groups WHERE id = %s", (group_id,))
                old_name, old_topic = await cur.fetchone()
                new_name = old_name if name is None else name[0]
                new_topic = old_topic if topic is None else topic
                if (new_name, new_topic) == (old_name, old_topic):
                    return []
                await cur.execute(
                    "UPDATE chat_groups SET name = %s, name_key = COALESCE(%s, name_key), topic = %s WHERE id = %s",
                    (new_name, None if name is None else name[1], new_topic, group_id),
                )
                return await group_changed_entries(cur, locked, online_since)
        except pymysql.err.IntegrityError as exc:
            if is_duplicate(exc):
                raise GroupExists(name) from exc
            raise

    @retried_on_conflict
    async def direct(self, actor: User, username: str) -> tuple[int, bool]:
        """The one direct group of ``actor`` and the user named ``username`` (made now if there is
        none): its id, and whether it was made now. Both are members from its start, seeing all
        of it; the other user's polls take it in with its first message (``memberships``)."""
        for _ in range(2):  # two asking at once: one makes it, the other finds it
            try:
                async with self._db.transaction() as cur:
                    peer = await _user_named(cur, username)
                    lo, hi = sorted((actor.id, peer.id))
                    await cur.execute(
                        "SELECT id FROM chat_groups WHERE direct_lo = %s AND direct_hi = %s FOR UPDATE", (lo, hi)
                    )
                    row = await cur.fetchone()
                    if row is not None:
                        return row[0], False
                    first, second = (actor, peer) if actor.id <= peer.id else (peer, actor)
                    name = first.username if lo == hi else f"{first.username}, {second.username}"
                    now = utcnow()
                    await cur.execute(
                        "INSERT INTO chat_groups (name, name_key, kind, direct_lo, direct_hi, created_by, created_at)"
                        " VALUES (%s, NULL, %s, %s, %s, %s, %s)",
                        (name, permissions.DIRECT, lo, hi, actor.id, now),
                    )
                    group_id = cur.lastrowid
                    for member_id in {actor.id, peer.id}:
                        await insert_membership(cur, group_id, member_id, 0, 0)
                    return group_id, True
            except pymysql.err.IntegrityError as exc:
                if not is_duplicate(exc):
                    raise
        raise AssertionError("a direct group made and then not found")
