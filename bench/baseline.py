#!/usr/bin/env python3
"""The yardstick: the smallest Tornado long-poll chat that answers what bench/loadgen.py asks.

Modelled on Tornado's demos/chat: one room, its messages in a list, a
``tornado.locks.Condition`` notified on every new message; a poll with a cursor
(the number of messages it has seen) waits on the condition until the list is
longer, or the timeout, and answers with the rest of the list. No database, no
auth (any token will do; the token names its user), no presence, no groups: every
group id is 1. It speaks the same routes and JSON shapes as tornado_chat for what
the load generator uses, so one load generator drives both and the ratio between
them is what tornado_chat's features and guarantees cost over a bare long poll.

``--hello-only`` serves a single ``GET /hello`` instead: a bare Tornado process's
requests per second, the ceiling of any Tornado long poll (a delivery is an answer
and a new request). It logs every request, as demos/chat (and run.py) do.
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
        self.events: list[dict] = []  # {"type": "message", "message": {...}}, seq = index + 1
        self.cond = tornado.locks.Condition()
        self.waiting = 0


ROOM = Room()


class Handler(tornado.web.RequestHandler):
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
        ROOM.events.append({"type": "message", "message": message})
        ROOM.cond.notify_all()
        self.answer({"message": message}, 201)


class EventsHandler(Handler):
    wait_future: asyncio.Future | None = None

    async def get(self) -> None:
        cursor = self.get_query_argument("cursor", None)
        if cursor is None:
            return self.answer({"cursor": str(len(ROOM.events)), "events": []})
        seen = int(cursor)
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
        self.answer({"cursor": str(len(ROOM.events)), "events": ROOM.events[seen:]})

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


def application(hello_only: bool) -> tornado.web.Application:
    if hello_only:
        return tornado.web.Application([(r"/hello", HelloHandler)])
    return tornado.web.Application([
        (r"/api/users", UsersHandler),
        (r"/api/groups", GroupsHandler),
        (r"/api/groups/([^/]+)/membership", MembershipHandler),
        (r"/api/groups/([^/]+)/messages", MessagesHandler),
        (r"/api/events", EventsHandler),
        (r"/healthz", HealthHandler),
        (r"/metrics", MetricsHandler),
    ])


async def serve(port: int, hello_only: bool) -> None:
    server = application(hello_only).listen(port, "127.0.0.1")
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    await stop.wait()
    server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8889)
    parser.add_argument("--hello-only", action="store_true", help="serve only GET /hello")
    args = parser.parse_args()
    tornado.log.enable_pretty_logging()
    asyncio.run(serve(args.port, args.hello_only))


if __name__ == "__main__":
    main()
