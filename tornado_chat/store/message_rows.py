"""How a message is read: its row, then what hangs off it (its reply's original, its
reactions, its mentions), each fetched only for the messages that need it, in one
statement per kind for a whole page."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import aiomysql

from ..models import ImageRef, Message, Reaction, ReplyRef, User
from .database import placeholders

REPLY_EXCERPT_CHARS = 200  # what a reply shows of the message it answers (the contract's figure)
COLUMNS = (
    "m.id, m.group_id, m.seq, m.kind, m.body, m.created_at, m.client_id, u.id, u.username, "
    "i.image_key, i.width, i.height, m.version, m.pos, m.edited_at, m.deleted_at, m.reply_to_seq"
)
FROM = "messages m JOIN users u ON u.id = m.user_id LEFT JOIN images i ON i.message_id = m.id"


def _row(row: Sequence[Any]) -> tuple[Message, int | None]:
    """The message of a row (reply, reactions and mentions not yet read) and the seq it answers."""
    deleted = row[15] is not None
    message = Message(
        id=row[0],
        group_id=row[1],
        seq=row[2],
        kind=row[3],
        text=None if deleted else row[4],
        created_at=row[5],
        client_id=row[6],
        user=User(row[7], row[8]),
        image=ImageRef(row[9], row[10], row[11]) if row[9] and not deleted else None,
        version=row[12],
        pos=row[13],
        edited_at=row[14],
        deleted=deleted,
    )
    return message, None if deleted else row[16]


def excerpt(original: Message) -> ReplyRef:
    """What a reply shows of ``original`` now."""
    text = original.text[:REPLY_EXCERPT_CHARS] if original.text is not None and not original.deleted else None
    return ReplyRef(original.seq, original.user, original.kind, text, original.deleted)


async def read(cur: aiomysql.Cursor, where: str, args: Sequence[Any], order: str = "") -> list[Message]:
    """The messages ``where`` selects, whole."""
    await cur.execute(f"SELECT {COLUMNS} FROM {FROM} WHERE {where} {order}", args)
    rows = [_row(r) for r in await cur.fetchall()]
    return await complete(cur, rows)


async def complete(cur: aiomysql.Cursor, rows: list[tuple[Message, int | None]]) -> list[Message]:
    """Messages with their reply excerpts, reactions and mentions."""
    if not rows:
        return []
    replies = await _originals(cur, rows)
    changed = [m.id for m, _ in rows if m.version > 1 and not m.deleted]  # only a change adds reactions
    reactions = await reactions_of(cur, changed) if changed else {}
    mentioning = [m.id for m, _ in rows if m.text and "@" in m.text]
    mentions = await _mentions(cur, mentioning) if mentioning else {}
    return [
        dataclasses.replace(
            message,
            reply_to=replies.get((message.group_id, reply_seq)) if reply_seq else None,
            reactions=reactions.get(message.id, ()),
            mentions=mentions.get(message.id, ()),
        )
        for message, reply_seq in rows
    ]


async def _originals(cur: aiomysql.Cursor, rows: list[tuple[Message, int | None]]) -> dict[tuple[int, int], ReplyRef]:
    wanted = {(m.group_id, seq) for m, seq in rows if seq}
    if not wanted:
        return {}
    found: dict[tuple[int, int], ReplyRef] = {}
    for group_id in {g for g, _ in wanted}:
        seqs = [s for g, s in wanted if g == group_id]
        await cur.execute(
            f"SELECT {COLUMNS} FROM {FROM} WHERE m.group_id = %s AND m.seq IN ({placeholders(seqs)})",
            (group_id, *seqs),
        )
        for row in await cur.fetchall():
            original, _ = _row(row)
            found[(group_id, original.seq)] = excerpt(original)
    return found


async def reactions_of(cur: aiomysql.Cursor, message_ids: list[int]) -> dict[int, tuple[Reaction, ...]]:
    """Each message's reactions: emoji in the order first used, users in the order they reacted."""
    await cur.execute(
        f"""SELECT r.message_id, r.emoji, u.id, u.username FROM reactions r JOIN users u ON u.id = r.user_id
            WHERE r.message_id IN ({placeholders(message_ids)}) ORDER BY r.id""",
        message_ids,
    )
    by_message: dict[int, dict[str, list[User]]] = {}
    for message_id, emoji, user_id, username in await cur.fetchall():
        by_message.setdefault(message_id, {}).setdefault(emoji, []).append(User(user_id, username))
    return {
        message_id: tuple(Reaction(emoji, tuple(users)) for emoji, users in emojis.items())
        for message_id, emojis in by_message.items()
    }


async def _mentions(cur: aiomysql.Cursor, message_ids: list[int]) -> dict[int, tuple[User, ...]]:
    await cur.execute(
        f"""SELECT n.message_id, u.id, u.username FROM mentions n JOIN users u ON u.id = n.user_id
            WHERE n.message_id IN ({placeholders(message_ids)}) ORDER BY n.message_id, u.username""",
        message_ids,
    )
    found: dict[int, list[User]] = {}
    for message_id, user_id, username in await cur.fetchall():
        found.setdefault(message_id, []).append(User(user_id, username))
    return {message_id: tuple(users) for message_id, users in found.items()}
