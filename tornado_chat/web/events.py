"""The long poll, ``/api/events``: one request covers every group of the user."""

from __future__ import annotations

from .. import validation, wire
from ..realtime.cursor import Cursor, InvalidCursor
from ..realtime.stream import Poll
from .base import APIError, BaseHandler

POLL_TIMEOUT_DEFAULT = 25.0  # under the 30 s after which some proxies and phones drop an idle request
POLL_TIMEOUT_MAX = 60.0


class EventsHandler(BaseHandler):
    session_cached = True
    quiet_access = True  # answers at DEBUG in the lean access log (logs.access): thousands per message

    _poll: Poll | None = None

    async def get(self) -> None:
        user = self.require_user()
        timeout = validation.timeout_argument(
            self.get_query_argument("timeout", None), POLL_TIMEOUT_DEFAULT, POLL_TIMEOUT_MAX
        )
        raw_cursor = self.get_query_argument("cursor", None)
        start = None
        if raw_cursor is not None:
            try:
                start = Cursor.decode(raw_cursor)
            except InvalidCursor as exc:  # refused before the user counts as online
                raise APIError(400, "invalid_cursor", "the cursor is malformed") from exc
        events, presence = self.services.events, self.services.presence
        presence.poll_started(user)
        try:
            if start is None:
                cursor, found = await events.start(user)
            else:
                self._poll = events.poll(user, start)
                if self.request.connection.stream.closed():  # gone while we looked up the session:
                    self._poll.cancel()  # on_connection_close came before there was a poll to cancel
                answer = await self._poll.run(timeout)
                if answer is None:
                    return
                cursor, found = answer[0].encode(), answer[1]
        finally:
            presence.poll_ended(user)
        self.answer(wire.poll_answer(cursor, found))

    def on_connection_close(self) -> None:
        if self._poll is not None:
            self._poll.cancel()
