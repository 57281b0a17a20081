"""Groups and memberships: list, create, join, leave, and who is online in one."""

from __future__ import annotations

import datetime

from ..models import Group, User
from ..store.groups import GroupStore
from ..store.presence import PresenceStore
from .membership_news import MembershipNews
from .presence import Presence


class Groups:
    def __init__(
        self, store: GroupStore, presence_store: PresenceStore, news: MembershipNews, presence: Presence
    ) -> None:
        self._store = store
        self._presence_store = presence_store
        self._news = news
        self._presence = presence

    def online_since(self) -> datetime.datetime:
        return self._presence.online_since()

    async def all(self, user: User) -> list[Group]:
        """Every public group and the user's own private and direct ones, each saying whether
        ``user`` is a member and with which role."""
        return await self._store.groups(user.id, self._presence.online_since(), listing=True)

    async def joined(self, user: User) -> list[Group]:
        return [g for g in await self.all(user) if g.joined]

    async def group(self, user: User, group_id: int) -> Group:
        """One group as ``user`` sees it; NoSuchGroup for one they may not know of."""
        return await self._store.group(group_id, user.id, self._presence.online_since())

    async def create(self, user: User, name: str, key: str, kind: str, topic: str) -> Group:
        """Create a group with ``user`` as its owner; GroupExists if the name is taken."""
        group_id = await self._store.create(name, key, user.id, kind, topic)
        await self._news.changed(user, group_id, joined=True)
        return await self.group(user, group_id)

    async def join(self, user: User, group_id: int) -> Group:
        if await self._store.join(group_id, user.id):
            await self._news.changed(user, group_id, joined=True)
        return await self.group(user, group_id)

    async def leave(self, user: User, group_id: int, closing: bool = False) -> None:
        """Leave; an owner who leaves hands the group to the member who has been there longest.
        ``closing``: the account closes, which ends even a direct group's membership."""
        left = await self._store.leave(group_id, user.id, self._presence.online_since(), closing)
        if left is None:
            return
        if left.heir is not None:  # their polls read their new role before the news of it
            await self._news.changed(left.heir, group_id, joined=None)
        self._news.logged(left.entries)
        await self._news.changed(user, group_id, joined=False)

    async def online(self, user: User, group_id: int) -> list[User]:
        """The group's members who are online (members only)."""
        await self._store.membership(group_id, user.id)
        found = await self._presence_store.online_members([group_id], self._presence.online_since())
        return found[group_id]
