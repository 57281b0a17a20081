#!/usr/bin/env python3
"""The lean yardstick: the smallest, fastest Tornado long-poll chat that answers what bench/loadgen.py asks.

Modelled on Tornado's demos/chat: one room, its messages in a list, a
``tornado.locks.Condition`` notified on every new message; a poll with a cursor
(the number of messages it has seen) waits on the condition until the list is
longer, or the timeout, and answers with the rest of the list. No database, no
auth (any token will do; the token names its user), no presence, no groups: every
group id is 1. It speaks the same routes and JSON shapes as tornado_chat for what
the load generator uses, so one load generator drives both and the ratio between
them is what tornado_chat's features and guarantees cost over a bare long poll.

As lean as Tornado allows, so that the ratio is honest: no access log (one line per
request costs more than the rest of a delivery), each message's event encoded to JSON
once when it is posted and answers joined from those strings, no ETag hashing of
answers. ``baseline_logged.py`` is this yardstick with Tornado's access log and an
encoding per answer, as demos/chat does.

``--hello-only`` serves a single ``GET /hello`` instead: a bare Tornado process's
requests per second, the ceiling of any Tornado long poll (a delivery is an answer
and a new request).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import itertools
import json
import signal

import tornado.locks
import tornado.log
import tornado.web
from tornado.ioloop import IOLoop

USERS = itertools.count(1)
NOW = "2026-01-01T00:00:00.000Z"


class Room:
    def __init__(self) -> None:
        self.events: list[str] = []  # '{"type": "message", "message": {...}}', encoded once; seq = index + 1
        self.cond = tornado.locks.Condition()
        self.waiting = 0


ROOM = Room()


class Handler(tornado.web.RequestHandler):
    def compute_etag(self) -> None:
        """No ETag: hashing every answer is per-answer work a long poll does not need."""
        return None

    def user(self) -> dict:
        token = self.request.headers.get("Authorization", "Bearer 0:anonymous").removeprefix("Bearer ")
        user_id, _, username = token.partition(":")
        return {"id": int(user_id), "username": username}

    def answer(self, body: dict | str, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(body)

    def group(self) -> dict:
        creator = self.user()
        return {"id": 1, "name": "room", "created_at": NOW, "created_by": creator, "members": 1, "online": 0,
                "joined": True}


class UsersHandler(Handler):
    def post(self) -> None:
        user = {"id": next(USERS), "username": json.loads(self.request.body)["username"]}
        self.answer({"user": user, "token": f"{user['id']}:{user['username']}"}, 201)


class GroupsHandler(Handler):
    def post(self) -> None:
        self.answer({"group": self.group()}, 201)


class MembershipHandler(Handler):
    def put(self, group_id: str) -> None:
        self.answer({"group": self.group()})


class MessagesHandler(Handler):
    def post(self, group_id: str) -> None:
        body = json.loads(self.request.body)
        seq = len(ROOM.events) + 1
        created = datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        message = {"id": seq, "group_id": 1, "seq": seq, "user": self.user(), "kind": "text",
                   "text": body["text"].strip(), "image": None, "created_at": created,
                   "client_id": body.get("client_id")}
        ROOM.events.append(self.encode_event({"type": "message", "message": message}))
        ROOM.cond.notify_all()
        self.answer({"message": message}, 201)

    def encode_event(self, event: dict) -> str:
        return json.dumps(event)


class EventsHandler(Handler):
    wait_future: asyncio.Future | None = None

    async def get(self) -> None:
        cursor = self.get_query_argument("cursor", None)
        if cursor is None:
            return self.answer({"cursor": str(len(ROOM.events)), "events": []})
        seen = int(cursor)
        if self.request.connection.stream.closed():
            # The client went away before this ran (request and close read together): Tornado then calls
            # no on_connection_close, and a parked poll would be held, and counted, until its timeout.
            return
        deadline = IOLoop.current().time() + float(self.get_query_argument("timeout", "25"))
        ROOM.waiting += 1
        try:
            while len(ROOM.events) <= seen:
                self.wait_future = ROOM.cond.wait(timeout=deadline)
                try:
                    if not await self.wait_future:
                        break  # the timeout
                except asyncio.CancelledError:
                    return  # the client went away
        finally:
            ROOM.waiting -= 1
        if self.request.connection.stream.closed():
            return
        self.answer_events(seen)

    def answer_events(self, seen: int) -> None:
        self.answer(f'{{"cursor": "{len(ROOM.events)}", "events": [{", ".join(ROOM.events[seen:])}]}}')

    def on_connection_close(self) -> None:
        if self.wait_future is not None:
            self.wait_future.cancel()


class HealthHandler(Handler):
    def get(self) -> None:
        self.answer({"status": "ok"})


class MetricsHandler(Handler):
    def get(self) -> None:
        """The one gauge the load generator reads, named as tornado_chat's /metrics names it."""
        self.set_header("Content-Type", "text/plain; version=0.0.4")
        self.finish(f"chat_open_polls {ROOM.waiting}\n")


class HelloHandler(tornado.web.RequestHandler):
    def get(self) -> None:
        self.write({"hello": "world"})


def no_log(handler: tornado.web.RequestHandler) -> None:
    """No access log."""


def application(hello_only: bool, messages: type[MessagesHandler] = MessagesHandler,
                events: type[EventsHandler] = EventsHandler, access_log: bool = False) -> tornado.web.Application:
    settings = {} if access_log else {"log_function": no_log}
    if hello_only:
        return tornado.web.Application([(r"/hello", HelloHandler)], **settings)
    return tornado.web.Application([
        (r"/api/users", UsersHandler),
        (r"/api/groups", GroupsHandler),
        (r"/api/groups/([^/]+)/membership", MembershipHandler),
        (r"/api/groups/([^/]+)/messages", messages),
        (r"/api/events", events),
        (r"/healthz", HealthHandler),
        (r"/metrics", MetricsHandler),
    ], **settings)


async def serve(app: tornado.web.Application, port: int) -> None:
    server = app.listen(port, "127.0.0.1")
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    await stop.wait()
    server.stop()


def arguments(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--port", type=int, default=8889)
    parser.add_argument("--hello-only", action="store_true", help="serve only GET /hello")
    return parser.parse_args()


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    tornado.log.enable_pretty_logging()
    asyncio.run(serve(application(args.hello_only), args.port))


if __name__ == "__main__":
    main()
