"""A group's members: the list and adding (``/api/groups/{id}/members``), a member's role and
removal (``.../members/{user_id}``), lifting a ban (``.../bans/{user_id}``), and direct
conversations (``/api/direct/{username}``)."""

from __future__ import annotations

from http import HTTPStatus

from .. import validation, wire
from .base import APIError, BaseHandler


class MembersBaseHandler(BaseHandler):
    def user_id(self, raw: str) -> int:
        user_id = validation.path_id(raw)
        if user_id is None:
            raise APIError(404, "member_not_found", "no such member of this group")
        return user_id


class MembersHandler(MembersBaseHandler):
    async def get(self, raw_id: str) -> None:
        user = self.require_user()
        members = await self.services.members.list(user, self.group_id(raw_id))
        self.answer({"members": [wire.member(m) for m in members]})

    async def post(self, raw_id: str) -> None:
        user = self.require_user()
        group_id = self.group_id(raw_id)
        username = validation.sign_in_field(self.json_body().get("username"), "invalid_username", "username")
        group = await self.services.members.add(user, group_id, username)
        self.answer({"group": wire.group(group)})


class MemberHandler(MembersBaseHandler):
    async def put(self, raw_id: str, raw_user_id: str) -> None:
        user = self.require_user()
        group_id, target_id = self.group_id(raw_id), self.user_id(raw_user_id)
        role = validation.role(self.json_body().get("role"))
        member = await self.services.members.set_role(user, group_id, target_id, role)
        self.answer({"member": wire.member(member)})

    async def delete(self, raw_id: str, raw_user_id: str) -> None:
        user = self.require_user()
        group_id, target_id = self.group_id(raw_id), self.user_id(raw_user_id)
        ban = validation.flag(self.get_query_argument("ban", None), "invalid_ban")
        await self.services.members.remove(user, group_id, target_id, ban)
        self.no_content()


class BanHandler(MembersBaseHandler):
    async def delete(self, raw_id: str, raw_user_id: str) -> None:
        user = self.require_user()
        await self.services.members.unban(user, self.group_id(raw_id), self.user_id(raw_user_id))
        self.no_content()


class DirectHandler(BaseHandler):
    async def put(self, username: str) -> None:
        user = self.require_user()
        if not validation.USERNAME_RE.match(username):
            raise APIError(404, "user_not_found", "no such user")
        group, created = await self.services.members.direct(user, username)
        self.answer({"group": wire.group(group)}, HTTPStatus.CREATED if created else HTTPStatus.OK)
