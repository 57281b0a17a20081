"""Groups and memberships: list, create, join, leave, and who is online in one."""

from __future__ import annotations

from ..models import Group, User
from ..realtime.notifier import Notifier
from ..store.groups import GroupStore
from ..store.presence import PresenceStore
from .presence import Presence


class Groups:
    def __init__(
        self, store: GroupStore, presence_store: PresenceStore, notifier: Notifier, presence: Presence
    ) -> None:
        self._store = store
        self._presence_store = presence_store
        self._notifier = notifier
        self._presence = presence

    async def all(self, user: User) -> list[Group]:
        """Every group, each saying whether ``user`` is a member."""
        return await self._store.groups(user.id, self._presence.online_since())

    async def joined(self, user: User) -> list[Group]:
        return [g for g in await self.all(user) if g.joined]

    async def create(self, user: User, name: str, key: str) -> Group:
        """Create a group with ``user`` as its first member; GroupExists if the name is taken."""
        group_id, _ = await self._store.create(name, key, user.id)
        await self._membership_changed(user, group_id, joined=True)
        return await self._store.group(group_id, user.id, self._presence.online_since())

    async def join(self, user: User, group_id: int) -> Group:
        _, changed = await self._store.join(group_id, user.id)
        if changed:
            await self._membership_changed(user, group_id, joined=True)
        return await self._store.group(group_id, user.id, self._presence.online_since())

    async def leave(self, user: User, group_id: int) -> None:
        if await self._store.leave(group_id, user.id):
            await self._membership_changed(user, group_id, joined=False)

    async def online(self, user: User, group_id: int) -> list[User]:
        """The group's members who are online (members only)."""
        await self._store.membership(group_id, user.id)
        found = await self._presence_store.online_members([group_id], self._presence.online_since())
        return found[group_id]

    async def _membership_changed(self, user: User, group_id: int, joined: bool) -> None:
        self._notifier.membership_changed(user, group_id, joined)
        await self._presence.membership_changed(user, group_id, joined)
