"""Messages, and the bytes of image messages.

Image bytes go to MySQL as hex literals built by ``bytes.hex()``, not as ``bytes``
parameters: aiomysql escapes those in pure Python on the event loop (over 100 ms
for 3 MB), and aiomysql 0.3.2 cannot escape them at all with PyMySQL 1.2.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

import aiomysql

from ..images import ProcessedImage
from ..models import ImageRef, Message, User, utcnow
from .database import Database, NoSuchGroup, NotMember

IMAGE_KEY_BYTES = 24  # 192 random bits: 32 URL-safe characters, never guessed
_COLUMNS = (
    "m.id, m.group_id, m.seq, m.kind, m.body, m.created_at, m.client_id, u.id, u.username, "
    "i.image_key, i.width, i.height"
)
_FROM = "messages m JOIN users u ON u.id = m.user_id LEFT JOIN images i ON i.message_id = m.id"


def _hex_literal(data: bytes) -> str:
    """Bytes as an SQL hex literal, X'..': hex digits only, so nothing to escape, and made in C."""
    return f"X'{data.hex()}'"


def _message(row: Sequence[Any]) -> Message:
    return Message(
        id=row[0],
        group_id=row[1],
        seq=row[2],
        kind=row[3],
        text=row[4],
        created_at=row[5],
        client_id=row[6],
        user=User(row[7], row[8]),
        image=ImageRef(row[9], row[10], row[11]) if row[9] else None,
    )


class MessageStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def insert(
        self, group_id: int, user: User, client_id: str | None, text: str | None = None,
        image: ProcessedImage | None = None,
    ) -> tuple[Message, bool]:
        """Store a text or image message under the next seq; returns (message, created).

        The group row lock serialises senders of one group, in every process, so seq has
        no gaps and follows commit order. A repeated client_id returns the original
        message instead of a second one. An image's bytes go in the same transaction.
        """
        async with self._db.transaction() as cur:
            last_seq, existing = await self._lock_for_send(cur, group_id, user.id, client_id)
            if existing is not None:
                await cur.execute(f"SELECT {_COLUMNS} FROM {_FROM} WHERE m.id = %s", (existing,))
                return _message(await cur.fetchone()), False
            seq, now, kind = last_seq + 1, utcnow(), "text" if image is None else "image"
            await cur.execute(
                """INSERT INTO messages (group_id, seq, user_id, kind, body, client_id, created_at)
                   VALUES (%s, %s, %s, %s, %s, %s, %s)""",
                (group_id, seq, user.id, kind, text, client_id, now),
            )
            message_id = cur.lastrowid
            ref = None if image is None else await self._insert_image(cur, message_id, image)
            await cur.execute("UPDATE chat_groups SET last_seq = %s WHERE id = %s", (seq, group_id))
        return Message(message_id, group_id, seq, user, kind, text, now, client_id, ref), True

    @staticmethod
    async def _lock_for_send(
        cur: aiomysql.Cursor, group_id: int, user_id: int, client_id: str | None
    ) -> tuple[int, int | None]:
        """Lock the group row (and the sender's membership with it, so that a concurrent leave
        cannot slip in between); the group's last seq and the id of a message already sent
        with this client_id."""
        await cur.execute(
            """SELECT g.last_seq, m.id,
                      (SELECT r.id FROM messages r WHERE r.group_id = g.id AND r.user_id = %s AND r.client_id = %s)
               FROM chat_groups g
               LEFT JOIN memberships m ON m.group_id = g.id AND m.user_id = %s
               WHERE g.id = %s FOR UPDATE""",
            (user_id, client_id, user_id, group_id),
        )
        row = await cur.fetchone()
        if row is None:
            raise NoSuchGroup(group_id)
        if row[1] is None:
            raise NotMember(group_id)
        return row[0], row[2]

    @staticmethod
    async def _insert_image(cur: aiomysql.Cursor, message_id: int, image: ProcessedImage) -> ImageRef:
        ref = ImageRef(secrets.token_urlsafe(IMAGE_KEY_BYTES), image.full.width, image.full.height)
        full, thumb = _hex_literal(image.full.data), _hex_literal(image.thumb.data)
        await cur.execute(
            "INSERT INTO images (message_id, image_key, content_type, width, height, data, thumb_type, thumb)"
            f" VALUES (%s, %s, %s, %s, %s, {full}, %s, {thumb})",
            (message_id, ref.key, image.full.content_type, ref.width, ref.height, image.thumb.content_type),
        )
        return ref

    async def by_client_id(self, group_id: int, user_id: int, client_id: str) -> Message | None:
        row = await self._db.one(
            f"SELECT {_COLUMNS} FROM {_FROM} WHERE m.group_id = %s AND m.user_id = %s AND m.client_id = %s",
            (group_id, user_id, client_id),
        )
        return _message(row) if row else None

    async def image(self, key: str, viewer_id: int, thumb: bool) -> tuple[str, bytes] | None:
        """An image's content type and bytes, only for a member who may see its message."""
        columns = "i.thumb_type, i.thumb" if thumb else "i.content_type, i.data"
        row = await self._db.one(
            f"""SELECT {columns} FROM images i
                JOIN messages m ON m.id = i.message_id
                JOIN memberships ms ON ms.group_id = m.group_id AND ms.user_id = %s AND ms.start_seq < m.seq
                WHERE i.image_key = %s""",
            (viewer_id, key),
        )
        return (row[0], bytes(row[1])) if row else None

    async def after(self, group_id: int, after_seq: int, limit: int) -> list[Message]:
        """Messages with seq > after_seq, oldest first."""
        rows = await self._db.all(
            f"SELECT {_COLUMNS} FROM {_FROM} WHERE m.group_id = %s AND m.seq > %s ORDER BY m.seq LIMIT %s",
            (group_id, after_seq, limit),
        )
        return [_message(r) for r in rows]

    async def before(self, group_id: int, before_seq: int, after_seq: int, limit: int) -> list[Message]:
        """The newest ``limit`` messages with after_seq < seq < before_seq, oldest first."""
        rows = await self._db.all(
            f"""SELECT {_COLUMNS} FROM {_FROM}
                WHERE m.group_id = %s AND m.seq < %s AND m.seq > %s ORDER BY m.seq DESC LIMIT %s""",
            (group_id, before_seq, after_seq, limit),
        )
        return [_message(r) for r in reversed(rows)]
