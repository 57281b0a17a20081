"""Traffic through a fault, and the count after it: senders that retry a send with the same
client_id until it is acknowledged, listeners that keep their cursor through failed polls, and
the check that every acknowledged message arrived exactly once, in seq order, stored once.
Shared by the fault tests (tests/test_faults.py) and the cluster's (tests/test_high_availability.py)."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tornado_chat.config import DatabaseURL

from .database import query
from .http import Account, Client, Response, unique
from .processes import ChatProcess

Event = dict[str, Any]


async def until(check: Callable[[], bool], limit: float = 30.0) -> None:
    """Wait until a condition holds (a condition, not a timing)."""
    for _ in range(int(limit / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the condition never came true")


def server_errors(chat: ChatProcess) -> list[str]:
    """Lines of the process's log that report a 500 or a traceback."""
    return [
        line for line in chat.log_path.read_text().splitlines()
        if re.search(r"\b500 (GET|POST|PUT|DELETE)\b", line) or "Traceback" in line
    ]


@dataclass
class Sender:
    """Sends numbered messages with client_ids, ``senders`` at a time; a refused send, or one
    whose answer was lost, is sent again with the same client_id until it is acknowledged."""

    client: Client
    account: Account
    group_id: int
    senders: int = 1
    prefix: str = field(default_factory=lambda: unique("m"))
    acknowledged: dict[str, Event] = field(default_factory=dict)  # client_id -> message
    acknowledged_at: list[float] = field(default_factory=list)
    refusals: list[Response] = field(default_factory=list)
    unanswered: int = 0
    retries_found_stored: int = 0
    running: bool = True

    async def run(self) -> None:
        await asyncio.gather(*(self._loop(n) for n in range(self.senders)))

    async def _loop(self, n: int) -> None:
        i = 0
        while self.running:
            await self.send(f"{self.prefix}-{n}-{i}")
            i += 1

    async def send(self, client_id: str) -> Event:
        retried = False
        while True:
            try:
                r = await self.client.send(self.account, self.group_id, f"text of {client_id}", client_id)
            except Exception:  # no answer (the process is gone): the send may or may not be stored
                self.unanswered += 1
            else:
                if r.status in (200, 201):
                    self.retries_found_stored += retried and r.status == 200
                    self.acknowledged[client_id] = r.json["message"]
                    self.acknowledged_at.append(time.monotonic())
                    return r.json["message"]
                self.refusals.append(r)
            retried = True
            await asyncio.sleep(0.1)


@dataclass
class Listener:
    """Long-polls from a cursor, keeping the group's messages in the order received; a poll
    that fails is made again with the same cursor (on whichever process answers)."""

    client: Client
    account: Account
    cursor: str
    group_id: int
    received: list[Event] = field(default_factory=list)
    received_at: list[float] = field(default_factory=list)  # when each of ``received`` arrived
    statuses: list[int] = field(default_factory=list)
    failures: int = 0

    async def until_received(self, message_id: int, limit: float = 60.0) -> None:
        deadline = time.monotonic() + limit
        while not any(m["id"] == message_id for m in self.received):
            assert time.monotonic() < deadline, "the listener never received the last message"
            await self.poll_once()

    async def poll_once(self, timeout: float = 2.0) -> None:
        try:
            r = await self.client.poll(self.account, self.cursor, timeout=timeout)
        except Exception:  # the process went away: poll again, with the same cursor
            self.failures += 1
            await asyncio.sleep(0.1)
            return
        self.statuses.append(r.status)
        if r.status != 200:
            await asyncio.sleep(0.1)
            return
        self.cursor = r.json["cursor"]
        new = [
            e["message"] for e in r.json["events"]
            if e["type"] == "message" and e["message"]["group_id"] == self.group_id
        ]
        self.received += new
        self.received_at += [time.monotonic()] * len(new)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.poll_once()


async def chatting(client: Client) -> tuple[Account, Account, int, str]:
    """A sender, a listener in the sender's group, the group, and the listener's cursor."""
    ana, bob = await client.register(), await client.register()
    group = await client.create_group(ana)
    await client.join(bob, group["id"])
    return ana, bob, group["id"], await client.cursor(bob)


async def wind_down(sender: Sender, listener: Listener, tasks: list[asyncio.Task[None]], stop: asyncio.Event) -> None:
    """Stop the traffic, then send one last message and wait until the listener has it:
    everything acknowledged before it has then had its chance to arrive."""
    sender.running = False
    await tasks[0]
    last = await sender.send(unique("last"))
    stop.set()
    await tasks[1]
    await listener.until_received(last["id"])


def assert_each_acknowledged_message_arrived_once_in_seq_order(
    acknowledged: dict[str, Event], listener: Listener, url: DatabaseURL
) -> None:
    """Every message of the group was acknowledged in the end (by client_id): the listener
    got seqs 1..N, each once, and they are exactly the acknowledged messages, each stored once."""
    received = listener.received
    assert [m["seq"] for m in received] == list(range(1, len(received) + 1))
    assert len({m["id"] for m in received}) == len(received)
    assert sorted(m["id"] for m in received) == sorted(m["id"] for m in acknowledged.values())
    assert {m["client_id"] for m in received} == set(acknowledged)
    repeated = query(
        url, "SELECT client_id FROM messages WHERE group_id = %s GROUP BY client_id HAVING COUNT(*) > 1",
        (listener.group_id,),
    )
    assert repeated == []
    assert query(url, "SELECT COUNT(*) FROM messages WHERE group_id = %s", (listener.group_id,)) == [(len(received),)]
