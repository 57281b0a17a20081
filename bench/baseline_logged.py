#!/usr/bin/env python3
"""The logged yardstick: baseline.py as demos/chat runs it, with an access line per request
and each answer encoded anew.

Until issue 14 this was the only yardstick; it flatters tornado_chat, whose own access
log and per-answer work it pays for too. The suite runs both, so both ratios are in one run.
"""

from __future__ import annotations

import asyncio
import json

import tornado.log
import tornado.web
from baseline import ROOM, EventsHandler, MessagesHandler, application, arguments, serve


class EncodingMessagesHandler(MessagesHandler):
    def encode_event(self, event: dict) -> str:
        return event  # type: ignore[return-value]  # kept as a dict: encoded in every answer


class EncodingEventsHandler(EventsHandler):
    def compute_etag(self) -> str | None:
        return tornado.web.RequestHandler.compute_etag(self)

    def answer_events(self, seen: int) -> None:
        self.answer(json.dumps({"cursor": str(len(ROOM.events)), "events": ROOM.events[seen:]}))


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    tornado.log.enable_pretty_logging()
    app = application(args.hello_only, EncodingMessagesHandler, EncodingEventsHandler, access_log=True)
    asyncio.run(serve(app, args.port))


if __name__ == "__main__":
    main()
