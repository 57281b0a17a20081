"""Groups: list and create (``/api/groups``), rename or set the topic of one
(``/api/groups/{id}``), join, leave and the notification level (``.../membership``), who is
online in one (``.../online``), and reading it (``.../read``)."""

from __future__ import annotations

from http import HTTPStatus

from .. import validation, wire
from .base import BaseHandler


class GroupsHandler(BaseHandler):
    async def get(self) -> None:
        user = self.require_user()
        self.answer({"groups": [wire.group(g) for g in await self.services.groups.all(user)]})

    async def post(self) -> None:
        user = self.require_user()
        body = self.json_body()
        name, key = validation.group_name(body.get("name"))
        kind = validation.group_kind(body.get("kind"))
        topic = validation.topic(body.get("topic", ""))
        group = await self.services.groups.create(user, name, key, kind, topic)
        self.answer({"group": wire.group(group)}, HTTPStatus.CREATED)


class GroupHandler(BaseHandler):
    async def patch(self, raw_id: str) -> None:
        user = self.require_user()
        group_id = self.group_id(raw_id)
        body = self.json_body()
        name = None if body.get("name") is None else validation.group_name(body["name"])
        topic = None if body.get("topic") is None else validation.topic(body["topic"])
        group = await self.services.members.edit(user, group_id, name, topic)
        self.answer({"group": wire.group(group)})


class MembershipHandler(BaseHandler):
    async def put(self, raw_id: str) -> None:
        user = self.require_user()
        group = await self.services.groups.join(user, self.group_id(raw_id))
        self.answer({"group": wire.group(group)})

    async def patch(self, raw_id: str) -> None:
        """The member's notification level."""
        user = self.require_user()
        group_id = self.group_id(raw_id)
        level = validation.notify_level(self.json_body().get("notify"))
        self.answer({"group": wire.group(await self.services.read.set_notify(user, group_id, level))})

    async def delete(self, raw_id: str) -> None:
        user = self.require_user()
        await self.services.groups.leave(user, self.group_id(raw_id))
        self.no_content()


class OnlineHandler(BaseHandler):
    async def get(self, raw_id: str) -> None:
        user = self.require_user()
        online = await self.services.groups.online(user, self.group_id(raw_id))
        self.answer({"users": wire.users(online)})


class ReadHandler(BaseHandler):
    async def put(self, raw_id: str) -> None:
        """The member has read the group up to ``seq``."""
        user = self.require_user()
        group_id = self.group_id(raw_id)
        seq = validation.read_seq(self.json_body().get("seq"))
        self.answer({"group": wire.group(await self.services.read.mark(user, group_id, seq))})
