"""Your own data: ``GET /api/me/export`` (a zip, streamed while it is made) and
``DELETE /api/me`` (closing the account)."""

from __future__ import annotations

from tornado.iostream import StreamClosedError

from .. import validation
from ..services.accounts import BadCredentials
from .base import SESSION_COOKIE, APIError, BaseHandler


class ExportHandler(BaseHandler):
    async def get(self) -> None:
        user = self.require_user()
        self.services.your_data.charge_export(user)
        self.set_header("Content-Type", "application/zip")
        self.set_header("Content-Disposition", f'attachment; filename="tornado_chat-{user.username}.zip"')
        try:
            async for piece in self.services.your_data.export(user):
                if piece:
                    self.write(piece)
                    await self.flush()  # waits while the client is slower than the zip
        except StreamClosedError:
            return  # the client went away: nothing more to send
        self.finish()


class AccountClosingHandler(BaseHandler):
    """``DELETE /api/me``, on ``MeHandler``'s URL (see accounts.py)."""

    async def close_account(self) -> None:
        user = self.require_user()
        password = validation.sign_in_field(self.json_body().get("password"), "invalid_password", "password")
        try:
            await self.services.your_data.close_account(user, password)
        except BadCredentials as exc:
            raise APIError(401, "invalid_credentials", "wrong password") from exc
        self.clear_cookie(SESSION_COOKIE)
        self.no_content()
