"""One message and its reactions: ``/api/groups/{id}/messages/{seq}`` (PATCH edits, DELETE
deletes) and ``.../reactions/{emoji}`` (PUT adds the caller's, DELETE removes it)."""

from __future__ import annotations

import tornado.web

from .. import validation, wire
from .base import APIError, BaseHandler


class MessageBaseHandler(BaseHandler):
    def seq(self, raw: str) -> int:
        seq = validation.path_id(raw)
        if seq is None:
            raise APIError(404, "message_not_found", "no such message")
        return seq


class MessageHandler(MessageBaseHandler):
    async def patch(self, raw_id: str, raw_seq: str) -> None:
        user = self.require_user()
        group_id, seq = self.group_id(raw_id), self.seq(raw_seq)
        text = validation.message_text(self.json_body().get("text"))
        message = await self.services.changes.edit(user, group_id, seq, text)
        self.answer({"message": wire.message(message)})

    async def delete(self, raw_id: str, raw_seq: str) -> None:
        user = self.require_user()
        await self.services.changes.delete(user, self.group_id(raw_id), self.seq(raw_seq))
        self.no_content()


class ReactionHandler(MessageBaseHandler):
    def decode_argument(self, value: bytes, name: str | None = None) -> str:
        """A path segment that is not UTF-8 is no emoji: the rule's 400 ``invalid_emoji`` (or the
        group's or message's 404), not Tornado's bare 400."""
        try:
            return super().decode_argument(value, name)
        except tornado.web.HTTPError:
            return value.decode("utf-8", "surrogateescape")

    async def put(self, raw_id: str, raw_seq: str, raw_emoji: str) -> None:
        await self._react(raw_id, raw_seq, raw_emoji, add=True)

    async def delete(self, raw_id: str, raw_seq: str, raw_emoji: str) -> None:
        await self._react(raw_id, raw_seq, raw_emoji, add=False)

    async def _react(self, raw_id: str, raw_seq: str, raw_emoji: str, add: bool) -> None:
        user = self.require_user()
        group_id, seq = self.group_id(raw_id), self.seq(raw_seq)
        emoji = validation.emoji(raw_emoji)
        message = await self.services.changes.react(user, group_id, seq, emoji, add)
        self.answer({"message": wire.message(message)})
