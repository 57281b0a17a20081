"""Search: ``/api/search?q=…&group_id=…&before=…&limit=…``."""

from __future__ import annotations

from .. import validation, wire
from ..validation import MAX_ID
from .base import BaseHandler

SEARCH_LIMIT_DEFAULT, SEARCH_LIMIT_MAX = 20, 100


class SearchHandler(BaseHandler):
    async def get(self) -> None:
        user = self.require_user()
        words = validation.search_words(self.get_query_argument("q", None))
        group_id = self.optional_id("group_id", "invalid_group_id")
        before = self.optional_id("before", "invalid_before")
        limit = validation.int_argument(
            self.get_query_argument("limit", None), "invalid_limit", SEARCH_LIMIT_DEFAULT, 1, SEARCH_LIMIT_MAX
        )
        found = await self.services.search.messages(user, words, group_id, before, limit)
        self.answer({"messages": [wire.message(m) for m in found]})

    def optional_id(self, name: str, code: str) -> int | None:
        """An id query argument, absent or a positive integer."""
        raw = self.get_query_argument(name, None)
        return None if raw is None else validation.int_argument(raw, code, 0, 1, MAX_ID)
