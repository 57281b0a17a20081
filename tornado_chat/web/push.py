"""Web Push: the server's public key, and a browser's subscriptions (``/api/push...``)."""

from __future__ import annotations

from http import HTTPStatus

from .base import BaseHandler


class PushKeyHandler(BaseHandler):
    def get(self) -> None:
        self.require_user()
        self.answer({"public_key": self.services.push.public_key})


class PushSubscriptionsHandler(BaseHandler):
    async def post(self) -> None:
        user = self.require_user()
        created = await self.services.push.subscribe(user, self._token, self.json_body())
        self.answer({}, HTTPStatus.CREATED if created else HTTPStatus.OK)

    async def delete(self) -> None:
        user = self.require_user()
        await self.services.push.unsubscribe(user, self.json_body())
        self.no_content()
