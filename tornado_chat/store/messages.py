"""Messages: sending (with a reply and mentions), history, and the bytes of image messages.

Image bytes go to MySQL as hex literals built by ``bytes.hex()``, not as ``bytes``
parameters: aiomysql escapes those in pure Python on the event loop (over 100 ms
for 3 MB), and aiomysql 0.3.2 cannot escape them at all with PyMySQL 1.2.
"""

from __future__ import annotations

import dataclasses
import secrets
from dataclasses import dataclass

import aiomysql

from .. import permissions
from ..errors import MessageNotFound, NoSuchGroup
from ..images import ProcessedImage
from ..models import ImageRef, Message, User, utcnow
from ..permissions import Action, Standing
from . import message_rows
from .database import Database, placeholders, retried_on_conflict
from .groups import direct_peer

IMAGE_KEY_BYTES = 24  # 192 random bits: 32 URL-safe characters, never guessed


def _hex_literal(data: bytes) -> str:
    """Bytes as an SQL hex literal, X'..': hex digits only, so nothing to escape, and made in C."""
    return f"X'{data.hex()}'"


@dataclass(frozen=True)
class Draft:
    """What a sender sends: text or an image, maybe in reply to a seq, maybe mentioning names."""

    text: str | None = None
    image: ProcessedImage | None = None
    reply_to: int | None = None
    mentioned: tuple[str, ...] = ()  # lower-cased usernames; only members are kept


@dataclass(frozen=True)
class _Locked:
    last_seq: int
    last_pos: int
    start_seq: int
    existing: int | None
    kind: str


@dataclass(frozen=True)
class Stored:
    """A send's outcome: the message, whether it was stored now (not a retry), and the other
    user of a direct group whose polls this first message opens it for."""

    message: Message
    created: bool
    opened_for: User | None = None


class MessageStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    @retried_on_conflict
    async def insert(self, group_id: int, user: User, client_id: str | None, draft: Draft) -> Stored:
        """Store a message under the next seq and log position; returns (message, created).

        The group row lock serialises senders (and changes) of one group, in every process,
        so seq and pos have no gaps and follow commit order. A repeated client_id returns the
        original message instead of a second one. An image's bytes go in the same transaction.
        """
        async with self._db.transaction() as cur:
            locked = await self._lock_for_send(cur, group_id, user.id, client_id)
            if locked.existing is not None:
                (found,) = await message_rows.read(cur, "m.id = %s", (locked.existing,))
                return Stored(found, False)
            reply = None
            if draft.reply_to is not None:
                reply = message_rows.excerpt(await self._repliable(cur, group_id, draft.reply_to, locked.start_seq))
            seq, pos, now = locked.last_seq + 1, locked.last_pos + 1, utcnow()
            kind = "text" if draft.image is None else "image"
            await cur.execute(
                """INSERT INTO messages (group_id, seq, user_id, kind, body, client_id, created_at, pos, reply_to_seq)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)""",
                (group_id, seq, user.id, kind, draft.text, client_id, now, pos, draft.reply_to),
            )
            message_id = cur.lastrowid
            ref = None if draft.image is None else await self._insert_image(cur, message_id, draft.image)
            peer = await direct_peer(cur, group_id, user.id) if locked.kind == permissions.DIRECT and seq == 1 else None
            mentions = await write_mentions(cur, group_id, message_id, draft.mentioned)
            await cur.execute(  # sending reads the group up to the message sent
                """UPDATE chat_groups g JOIN memberships m ON m.group_id = g.id AND m.user_id = %s
                   SET g.last_seq = %s, g.last_pos = %s, m.last_read_seq = %s WHERE g.id = %s""",
                (user.id, seq, pos, seq, group_id),
            )
        message = Message(message_id, group_id, seq, user, kind, draft.text, now, client_id, ref, pos=pos)
        return Stored(dataclasses.replace(message, reply_to=reply, mentions=mentions), True, peer)

    @staticmethod
    async def _lock_for_send(cur: aiomysql.Cursor, group_id: int, user_id: int, client_id: str | None) -> _Locked:
        """Lock the group row (and the sender's membership with it, so that a concurrent leave
        cannot slip in between); where the group stands, where the sender's view starts, and
        the id of a message already sent with this client_id."""
        await cur.execute(
            """SELECT g.last_seq, g.last_pos, g.kind, m.role, m.start_seq,
                      (SELECT r.id FROM messages r WHERE r.group_id = g.id AND r.user_id = %s AND r.client_id = %s)
               FROM chat_groups g
               LEFT JOIN memberships m ON m.group_id = g.id AND m.user_id = %s
               WHERE g.id = %s FOR UPDATE""",
            (user_id, client_id, user_id, group_id),
        )
        row = await cur.fetchone()
        if row is None:
            raise NoSuchGroup(group_id)
        permissions.require(group_id, Standing(row[2], row[3]), Action.READ)
        return _Locked(last_seq=row[0], last_pos=row[1], start_seq=row[4], existing=row[5], kind=row[2])

    @staticmethod
    async def _repliable(cur: aiomysql.Cursor, group_id: int, seq: int, start_seq: int) -> Message:
        """The message a reply answers: one the sender may see, not deleted."""
        visible = seq > start_seq
        found = await message_rows.read(cur, "m.group_id = %s AND m.seq = %s", (group_id, seq)) if visible else []
        if not found or found[0].deleted:
            raise MessageNotFound(seq)
        return found[0]

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
        async with self._db.cursor() as cur:
            found = await message_rows.read(
                cur, "m.group_id = %s AND m.user_id = %s AND m.client_id = %s", (group_id, user_id, client_id)
            )
        return found[0] if found else None

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

    async def before(self, group_id: int, before_seq: int, after_seq: int, limit: int) -> list[Message]:
        """The newest ``limit`` messages with after_seq < seq < before_seq, as they are now, oldest first."""
        async with self._db.cursor() as cur:
            found = await message_rows.read(
                cur, "m.group_id = %s AND m.seq < %s AND m.seq > %s", (group_id, before_seq, after_seq, limit),
                "ORDER BY m.seq DESC LIMIT %s",
            )
        return found[::-1]


async def write_mentions(
    cur: aiomysql.Cursor, group_id: int, message_id: int, names: tuple[str, ...]
) -> tuple[User, ...]:
    """Record who of ``names`` is a member of the group now; those users, by username."""
    if not names:
        return ()
    await cur.execute(
        f"""SELECT u.id, u.username FROM users u JOIN memberships m ON m.user_id = u.id AND m.group_id = %s
            WHERE u.username IN ({placeholders(list(names))}) ORDER BY u.username""",
        (group_id, *names),
    )
    users = tuple(User(r[0], r[1]) for r in await cur.fetchall())
    if users:
        await cur.execute(
            "INSERT INTO mentions (message_id, user_id) VALUES " + ", ".join(["(%s, %s)"] * len(users)),
            [v for u in users for v in (message_id, u.id)],
        )
    return users
