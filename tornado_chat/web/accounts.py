"""Sign-up, sign-in and sign-out, and who am I: ``/api/users``, ``/api/session``, ``/api/me``."""

from __future__ import annotations

from http import HTTPStatus

from .. import validation, wire
from ..errors import UsernameTaken
from ..models import User
from ..services.accounts import BadCredentials, TooManyAttempts
from .base import SESSION_COOKIE, APIError, BaseHandler
from .your_data import AccountClosingHandler


class SignInHandler(BaseHandler):
    async def sign_in(self, user: User, status: int) -> None:
        token = await self.start_session(user)
        self.answer({"user": wire.user(user), "token": token}, status)


class UsersHandler(SignInHandler):
    async def post(self) -> None:
        body = self.json_body()
        username = validation.username(body.get("username"))
        password = validation.password(body.get("password"))
        try:
            user = await self.services.accounts.register(username, password, self.request.remote_ip)
        except UsernameTaken as exc:
            raise APIError(409, "username_taken", "that username is taken") from exc
        await self.sign_in(user, HTTPStatus.CREATED)


class SessionHandler(SignInHandler):
    async def post(self) -> None:
        body = self.json_body()
        username = validation.sign_in_field(body.get("username"), "invalid_username", "username")
        password = validation.sign_in_field(body.get("password"), "invalid_password", "password")
        try:
            user = await self.services.accounts.authenticate(username, password, self.request.remote_ip)
        except TooManyAttempts as exc:
            raise APIError(
                429, "too_many_attempts", "too many failed sign-ins; wait and try again", exc.retry_after
            ) from exc
        except BadCredentials as exc:
            raise APIError(401, "invalid_credentials", "wrong username or password") from exc
        await self.sign_in(user, HTTPStatus.OK)

    async def delete(self) -> None:
        self.require_user()
        await self.services.accounts.revoke_session(self._token)
        self.clear_cookie(SESSION_COOKIE)
        self.no_content()


class MeHandler(AccountClosingHandler):
    async def get(self) -> None:
        user = self.require_user()
        groups = await self.services.groups.joined(user)
        self.answer({"user": wire.user(user), "groups": [wire.group(g) for g in groups]})

    async def delete(self) -> None:
        await self.close_account()
