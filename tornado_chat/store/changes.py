"""Changes to a message: edit, delete, react. Each is one entry in the group's log.

A change takes the group's row lock (as a send does), so changes and sends of one group
are ordered the same way on every process, and takes the next log position. The change's
event JSON (the whole message after it) is recorded in ``group_log`` in the same
transaction. A message's first version is recorded there too, the first time it changes:
until then its row in ``messages`` is its creation entry. A cursor replayed from the
database so gets every version of every message exactly once.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiomysql

from .. import permissions, wire
from ..errors import MessageNotFound, NotAllowed, NotAuthor, NotEditable, TooManyReactions
from ..models import LogEntry, Message, User, timestamp, utcnow
from ..permissions import Action, Standing
from . import message_rows
from .database import Database, retried_on_conflict
from .groups import lock_group
from .log import record
from .messages import write_mentions

MAX_EMOJI_PER_MESSAGE = 20  # the contract's bound: a message's reactions stay readable

# What a change does inside its transaction, given the message as it is, the time and the
# changer's standing in the group: the message after it (its version moved on by the change's
# own UPDATE), or None when the change changes nothing. The message after is worked out here,
# not read back: fewer statements are run while the group's row is locked.
Apply = Callable[[aiomysql.Cursor, Message, datetime.datetime, Standing], Awaitable[Message | None]]


@dataclass(frozen=True)
class Changed:
    """A change's outcome: the message as it is now, and its log entry (None: nothing changed)."""

    message: Message
    entry: LogEntry | None


class ChangeStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def edit(self, group_id: int, seq: int, user: User, text: str, mentioned: tuple[str, ...]) -> Changed:
        """New text (its author only, a text message only); mentions worked out again."""

        async def apply(
            cur: aiomysql.Cursor, message: Message, now: datetime.datetime, standing: Standing
        ) -> Message | None:
            if message.user.id != user.id:
                raise NotAuthor(seq)
            if message.kind != "text":
                raise NotEditable(seq)
            if message.text == text:
                return None
            await cur.execute(
                "UPDATE messages SET body = %s, edited_at = %s, version = version + 1 WHERE id = %s",
                (text, now, message.id),
            )
            if message.mentions:
                await cur.execute("DELETE FROM mentions WHERE message_id = %s", (message.id,))
            mentions = await write_mentions(cur, group_id, message.id, mentioned)
            return dataclasses.replace(message, text=text, edited_at=now, mentions=mentions)

        return await self._change(group_id, seq, user, apply)

    async def delete(self, group_id: int, seq: int, user: User, closing: bool = False) -> Changed:
        """A tombstone in its place; an image's bytes are erased. Its author, or the group's owner
        or a moderator. Deleting a deleted message changes nothing. ``closing``: the author's account
        closes, and the message goes wherever it stands, in a group they left or before their join."""

        async def apply(
            cur: aiomysql.Cursor, message: Message, now: datetime.datetime, standing: Standing
        ) -> Message | None:
            if message.user.id != user.id and not permissions.allowed(standing, Action.DELETE_ANY_MESSAGE):
                raise NotAllowed(seq)
            await cur.execute(
                "UPDATE messages SET body = NULL, deleted_at = %s, version = version + 1 WHERE id = %s",
                (now, message.id),
            )
            for table, held in (("images", message.image), ("reactions", message.reactions),
                                ("mentions", message.mentions)):
                if held:
                    await cur.execute(f"DELETE FROM {table} WHERE message_id = %s", (message.id,))
            return dataclasses.replace(
                message, text=None, image=None, deleted=True, reply_to=None, reactions=(), mentions=()
            )

        return await self._change(group_id, seq, user, apply, deleted_ok=True, closing=closing)

    async def react(self, group_id: int, seq: int, user: User, emoji: str, add: bool) -> Changed:
        """Add or remove the user's reaction; a no-op when it is already so."""

        async def apply(
            cur: aiomysql.Cursor, message: Message, now: datetime.datetime, standing: Standing
        ) -> Message | None:
            mine = any(emoji == r.emoji and user in r.users for r in message.reactions)
            if add == mine:
                return None
            if add:
                emojis = {r.emoji for r in message.reactions}
                if emoji not in emojis and len(emojis) >= MAX_EMOJI_PER_MESSAGE:
                    raise TooManyReactions(seq)
                await cur.execute(
                    "INSERT INTO reactions (message_id, user_id, emoji, created_at) VALUES (%s, %s, %s, %s)",
                    (message.id, user.id, emoji, now),
                )
            else:
                await cur.execute(
                    "DELETE FROM reactions WHERE message_id = %s AND user_id = %s AND emoji = %s",
                    (message.id, user.id, emoji),
                )
            await cur.execute("UPDATE messages SET version = version + 1 WHERE id = %s", (message.id,))
            reactions = await message_rows.reactions_of(cur, [message.id])  # their order is the table's
            return dataclasses.replace(message, reactions=reactions.get(message.id, ()))

        return await self._change(group_id, seq, user, apply)

    @retried_on_conflict
    async def _change(
        self, group_id: int, seq: int, user: User, apply: Apply, deleted_ok: bool = False, closing: bool = False
    ) -> Changed:
        async with self._db.transaction() as cur:
            locked = await lock_group(cur, group_id, user.id)
            if not closing:
                permissions.require(group_id, locked.standing, Action.READ)
            last_pos = locked.last_pos
            visible = closing or (locked.membership is not None and seq > locked.membership.start_seq)
            found = await message_rows.read(cur, "m.group_id = %s AND m.seq = %s", (group_id, seq)) if visible else []
            if not found or (found[0].deleted and not deleted_ok):
                raise MessageNotFound(seq)
            before, now = found[0], utcnow()
            if before.deleted or (changed := await apply(cur, before, now, locked.standing)) is None:
                return Changed(before, None)
            if before.version == 1:  # its first version joins the log before the change does
                await record(cur, group_id, before.pos, seq, wire.message_event(before), now)
            after = dataclasses.replace(changed, version=before.version + 1)
            pos, event = last_pos + 1, wire.message_changed_event(after)
            await record(cur, group_id, pos, seq, event, now)
            await cur.execute("UPDATE chat_groups SET last_pos = %s WHERE id = %s", (pos, group_id))
        return Changed(after, LogEntry(group_id, pos, seq, event, timestamp(now)))
