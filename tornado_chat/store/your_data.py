"""A user's own data: what their export reads (in pages, so that no export holds more than a
page of messages or one image at a time), and closing their account."""

from __future__ import annotations

from ..models import Message, utcnow
from . import message_rows
from .database import Database, retried_on_conflict

CLOSED_PASSWORD_HASH = "!"  # matches no password: bcrypt hashes start with "$2"


class YourDataStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def messages_sent(self, user_id: int, after_id: int, limit: int) -> list[Message]:
        """The user's messages with an id above ``after_id``, as history shows them, oldest first."""
        async with self._db.cursor() as cur:
            return await message_rows.read(
                cur, "m.user_id = %s AND m.id > %s", (user_id, after_id, limit), "ORDER BY m.id LIMIT %s"
            )

    async def image_keys(self, user_id: int) -> list[tuple[str, str]]:
        """The key and content type of each image the user sent that is still there."""
        rows = await self._db.all(
            """SELECT i.image_key, i.content_type FROM images i JOIN messages m ON m.id = i.message_id
               WHERE m.user_id = %s AND m.deleted_at IS NULL ORDER BY m.id""",
            (user_id,),
        )
        return [(r[0], r[1]) for r in rows]

    async def image(self, key: str) -> bytes | None:
        row = await self._db.one("SELECT data FROM images WHERE image_key = %s", (key,))
        return None if row is None else bytes(row[0])

    @retried_on_conflict
    async def close(self, user_id: int) -> list[str]:
        """Close the account: it can no longer sign in, and its sessions end (the hashes of
        their tokens, so every process forgets them). The row stays: the name stays taken."""
        async with self._db.transaction() as cur:
            await cur.execute(
                "UPDATE users SET closed_at = %s, password_hash = %s WHERE id = %s AND closed_at IS NULL",
                (utcnow(), CLOSED_PASSWORD_HASH, user_id),
            )
            await cur.execute("SELECT token_hash FROM sessions WHERE user_id = %s FOR UPDATE", (user_id,))
            hashes = [r[0] for r in await cur.fetchall()]
            await cur.execute("DELETE FROM sessions WHERE user_id = %s", (user_id,))
        return hashes

    async def group_ids(self, user_id: int) -> list[int]:
        """Every group the user is a member of, direct ones not opened yet included."""
        return [r[0] for r in await self._db.all("SELECT group_id FROM memberships WHERE user_id = %s", (user_id,))]

    async def undeleted_messages(self, user_id: int) -> list[tuple[int, int]]:
        """(group id, seq) of each message of the user's that is not deleted yet."""
        rows = await self._db.all(
            "SELECT group_id, seq FROM messages WHERE user_id = %s AND deleted_at IS NULL ORDER BY id", (user_id,)
        )
        return [(r[0], r[1]) for r in rows]
