"""Read state: how far each member has read each group, the counts of what they have not, and
which new messages notify them.

``memberships.last_read_seq`` only moves forward and never past the group's newest message.
Marks from many members are written together (``mark_read`` takes a batch): a crowd scrolling
costs a statement per batch, not one per member or per message.
"""

from __future__ import annotations

from ..models import ReadState
from .database import Database, placeholders, retried_on_conflict

# What a member has not read of group g (m: their membership, {viewer}: their id): messages after
# where they have read up to and after their join, by someone else, not deleted; and those of them
# that mention the member.
# {upto}: nothing, or a bound on the messages' log positions.
UNREAD = """(SELECT COUNT(*) FROM messages x WHERE x.group_id = g.id {upto}
    AND x.seq > GREATEST(m.last_read_seq, m.start_seq) AND x.user_id <> {viewer} AND x.deleted_at IS NULL)"""
UNREAD_MENTIONS = """(SELECT COUNT(*) FROM messages x JOIN mentions mn ON mn.message_id = x.id AND mn.user_id = {viewer}
    WHERE x.group_id = g.id {upto} AND x.seq > GREATEST(m.last_read_seq, m.start_seq) AND x.user_id <> {viewer}
      AND x.deleted_at IS NULL)"""


class ReadStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def state(self, user_id: int, group_id: int, upto_pos: int) -> ReadState | None:
        """The user's read state in a group as of its log position ``upto_pos``: the counts of a
        ``read`` event that follows the entries up to there (None: not a member)."""
        bounded = {"viewer": "%s", "upto": "AND x.pos <= %s"}
        row = await self._db.one(
            f"""SELECT m.last_read_seq, {UNREAD.format(**bounded)}, {UNREAD_MENTIONS.format(**bounded)}, m.notify
                FROM chat_groups g JOIN memberships m ON m.group_id = g.id AND m.user_id = %s WHERE g.id = %s""",
            [upto_pos, user_id, user_id, upto_pos, user_id, user_id, group_id],
        )
        return None if row is None else ReadState(group_id, *row)

    @retried_on_conflict
    async def mark_read(self, marks: dict[tuple[int, int], int]) -> dict[tuple[int, int], int]:
        """Move each (user, group)'s read mark forward to its seq, clamped to the group's newest
        message, with three statements whatever the batch's size; the marks that moved, with
        where they stand now. Only membership rows are locked (a send locks its group's row and
        then the sender's membership: taking them in the other order could deadlock)."""
        pairs = list(marks)
        group_ids = sorted({group_id for _, group_id in pairs})
        async with self._db.transaction() as cur:
            await cur.execute(
                f"SELECT id, last_seq FROM chat_groups WHERE id IN ({placeholders(group_ids)})", group_ids
            )
            newest = dict(await cur.fetchall())
            keys = " OR ".join(["(user_id = %s AND group_id = %s)"] * len(pairs))
            await cur.execute(
                f"SELECT user_id, group_id, last_read_seq FROM memberships WHERE {keys} FOR UPDATE",
                [v for pair in pairs for v in pair],
            )
            moved = {
                (user_id, group_id): target
                for user_id, group_id, read in await cur.fetchall()
                if (target := min(marks[(user_id, group_id)], newest[group_id])) > read
            }
            if moved:
                wanted = " UNION ALL ".join(["SELECT %s AS user_id, %s AS group_id, %s AS seq"] * len(moved))
                await cur.execute(
                    f"""UPDATE memberships m JOIN ({wanted}) w ON w.user_id = m.user_id AND w.group_id = m.group_id
                        SET m.last_read_seq = w.seq""",
                    [v for pair, seq in moved.items() for v in (*pair, seq)],
                )
        return moved

    async def set_notify(self, group_id: int, user_id: int, level: str) -> bool:
        """Set the member's notification level; whether it changed."""
        async with self._db.cursor() as cur:
            await cur.execute(
                "UPDATE memberships SET notify = %s WHERE group_id = %s AND user_id = %s", (level, group_id, user_id)
            )
            return cur.rowcount > 0
