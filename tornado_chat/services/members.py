"""A group's members and details: the members list, adding, roles, removing and banning,
renaming, and direct conversations. Each commits in storage first (where ``permissions``
is asked), then tells the polls that must know."""

from __future__ import annotations

from ..models import Group, Member, User
from ..store.members import MemberStore
from .groups import Groups
from .membership_news import MembershipNews


class Members:
    def __init__(self, store: MemberStore, groups: Groups, news: MembershipNews) -> None:
        self._store = store
        self._groups = groups
        self._news = news

    async def list(self, user: User, group_id: int) -> list[Member]:
        return await self._store.members(group_id, user.id)

    async def add(self, user: User, group_id: int, username: str) -> Group:
        """Add someone by username; their view starts now, as if they had joined. Adding a
        member changes nothing. The group as the adder sees it."""
        added = await self._store.add(group_id, user.id, username)
        if added is not None:
            await self._news.changed(added, group_id, joined=True)
        return await self._groups.group(user, group_id)

    async def set_role(self, user: User, group_id: int, target_id: int, role: str) -> Member:
        member, entries = await self._store.set_role(group_id, user.id, target_id, role)
        if entries:
            self._news.logged(entries)
            await self._news.changed(member.user, group_id, joined=None)
        return member

    async def remove(self, user: User, group_id: int, target_id: int, ban: bool) -> None:
        """Remove a member, maybe banning them; their polls stop carrying the group at once."""
        removal = await self._store.remove(group_id, user.id, target_id, ban)
        if removal.was_member:
            await self._news.changed(removal.user, group_id, joined=False)

    async def unban(self, user: User, group_id: int, target_id: int) -> None:
        await self._store.unban(group_id, user.id, target_id)

    async def edit(self, user: User, group_id: int, name: tuple[str, str] | None, topic: str | None) -> Group:
        """Rename and/or set the topic; members hear of it as ``group_changed``."""
        self._news.logged(await self._store.edit(group_id, user.id, self._groups.online_since(), name, topic))
        return await self._groups.group(user, group_id)

    async def direct(self, user: User, username: str) -> tuple[Group, bool]:
        """The direct conversation of ``user`` and the user named ``username``, made if there is
        none; and whether it was made now."""
        group_id, created = await self._store.direct(user, username)
        if created:
            await self._news.changed(user, group_id, joined=True)
        return await self._groups.group(user, group_id), created
