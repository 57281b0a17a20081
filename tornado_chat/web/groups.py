"""Groups: list and create (``/api/groups``), join and leave (``.../membership``),
and who is online in one (``.../online``)."""

from __future__ import annotations

from http import HTTPStatus

from .. import validation, wire
from ..store.database import GroupExists
from .base import APIError, BaseHandler


class GroupsHandler(BaseHandler):
    async def get(self) -> None:
        user = self.require_user()
        self.answer({"groups": [wire.group(g) for g in await self.services.groups.all(user)]})

    async def post(self) -> None:
        user = self.require_user()
        name, key = validation.group_name(self.json_body().get("name"))
        try:
            group = await self.services.groups.create(user, name, key)
        except GroupExists as exc:
            raise APIError(409, "group_exists", "a group with that name exists") from exc
        self.answer({"group": wire.group(group)}, HTTPStatus.CREATED)


class MembershipHandler(BaseHandler):
    async def put(self, raw_id: str) -> None:
        user = self.require_user()
        group = await self.services.groups.join(user, self.group_id(raw_id))
        self.answer({"group": wire.group(group)})

    async def delete(self, raw_id: str) -> None:
        user = self.require_user()
        await self.services.groups.leave(user, self.group_id(raw_id))
        self.no_content()


class OnlineHandler(BaseHandler):
    async def get(self, raw_id: str) -> None:
        user = self.require_user()
        online = await self.services.groups.online(user, self.group_id(raw_id))
        self.answer({"users": wire.users(online)})
