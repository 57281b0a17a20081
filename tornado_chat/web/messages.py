"""Messages of a group: history and text sends (``.../messages``), and typing (``.../typing``)."""

from __future__ import annotations

from http import HTTPStatus

from .. import validation, wire
from .base import BaseHandler

HISTORY_LIMIT_DEFAULT = 50
HISTORY_LIMIT_MAX = 200


class MessagesHandler(BaseHandler):
    async def get(self, raw_id: str) -> None:
        user = self.require_user()
        group_id = self.group_id(raw_id)
        before = validation.int_argument(
            self.get_query_argument("before", None), "invalid_before", validation.MAX_ID, 1, validation.MAX_ID
        )
        limit = validation.int_argument(
            self.get_query_argument("limit", None), "invalid_limit", HISTORY_LIMIT_DEFAULT, 1, HISTORY_LIMIT_MAX
        )
        messages = await self.services.messages.history(user, group_id, before, limit)
        self.answer({"messages": [wire.message(m) for m in messages]})

    async def post(self, raw_id: str) -> None:
        user = self.require_user()
        group_id = self.group_id(raw_id)
        body = self.json_body()
        text = validation.message_text(body.get("text"))
        client_id = validation.client_id(body.get("client_id"))
        reply_to = validation.reply_to(body.get("reply_to"))
        message, created = await self.services.messages.send_text(user, group_id, text, client_id, reply_to)
        self.answer({"message": wire.message(message)}, HTTPStatus.CREATED if created else HTTPStatus.OK)


class TypingHandler(BaseHandler):
    async def post(self, raw_id: str) -> None:
        user = self.require_user()
        await self.services.messages.typing(user, self.group_id(raw_id))
        self.no_content()
