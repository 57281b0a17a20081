"""Searching messages with MySQL's own full-text index (``messages_body_search``, InnoDB
FULLTEXT over the text, in the column's accent- and case-insensitive collation).

The words are matched in boolean mode, each one required and quoted, so nothing a person
types is read as an operator; only messages the searcher may see now are found: in groups
they belong to, sent after they joined, not deleted.
"""

from __future__ import annotations

from ..models import Message
from . import message_rows
from .database import Database


def boolean_query(words: list[str]) -> str:
    """Every word required, each quoted: ``+"cafe" +"com"``. The words are letters, digits and
    ``_`` only (``validation.search_words``), so a quote never appears inside one."""
    return " ".join(f'+"{word}"' for word in words)


class SearchStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def search(
        self, viewer_id: int, words: list[str], group_id: int | None, before_id: int | None, limit: int
    ) -> list[Message]:
        """The newest ``limit`` messages the viewer may see that hold every word, newest first,
        in one group if ``group_id``, older than message ``before_id`` if given."""
        where = [
            "MATCH (m.body) AGAINST (%s IN BOOLEAN MODE)",
            "m.deleted_at IS NULL",
            "EXISTS (SELECT 1 FROM memberships ms WHERE ms.group_id = m.group_id AND ms.user_id = %s"
            " AND ms.start_seq < m.seq)",
        ]
        args: list[object] = [boolean_query(words), viewer_id]
        if group_id is not None:
            where.append("m.group_id = %s")
            args.append(group_id)
        if before_id is not None:
            where.append("m.id < %s")
            args.append(before_id)
        async with self._db.cursor() as cur:
            return await message_rows.read(cur, " AND ".join(where), [*args, limit], "ORDER BY m.id DESC LIMIT %s")
