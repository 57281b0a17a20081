"""Search: the messages a user may see that hold every word of a query (rate-limited: each
search is a full-text query, dearer than any other read)."""

from __future__ import annotations

from ..models import Message, User
from ..ratelimit import RateLimits
from ..store.groups import GroupStore
from ..store.search import SearchStore


class Search:
    def __init__(self, store: SearchStore, groups: GroupStore, limits: RateLimits) -> None:
        self._store = store
        self._groups = groups
        self._limits = limits

    async def messages(
        self, user: User, words: list[str], group_id: int | None, before_id: int | None, limit: int
    ) -> list[Message]:
        """Newest first. A group named by ``group_id`` answers as every group route does to
        someone who may not read it (404 for a group they may not know of, 403 for a public one)."""
        self._limits.charge("search", user.id)
        if group_id is not None:
            await self._groups.membership(group_id, user.id)
        return await self._store.search(user.id, words, group_id, before_id, limit)
