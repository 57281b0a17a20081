"""No single point of failure: the loss of any one part, under traffic, loses nothing acknowledged.

Real processes on loopback ports: a three-node Galera cluster (tests/support/galera.py), Redis
behind three sentinels (tests/support/sentinel.py), and two run.py processes, each writing through
a node of its own first (the worst case for conflicts, on purpose: deploy/README.md lists the nodes
in one order everywhere, so that one node takes the writes) and sharing changes through the
Sentinel-managed Redis. Senders on both processes write to one group, so the two nodes'
transactions meet at certification and one of them sometimes loses (the service runs it again);
a listener on each process keeps its cursor through everything. Each fault is a kill -9: a
database node (which then comes back and rejoins by state transfer while the traffic goes on),
the Redis primary, an app process, and all three at once (a machine pulled). After each: every
acknowledged message reached both listeners exactly once, in seq order, with no gap; each
client_id is stored once; nothing answered a 5xx but 503; and the longest pause in
acknowledgements (or deliveries) after the fault is printed and recorded.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from tornado.httpclient import AsyncHTTPClient

from tornado_chat.config import DatabaseURL

from .support.database import query
from .support.galera import GaleraCluster
from .support.http import Client, unique
from .support.processes import ChatProcess, running_chat_processes
from .support.sentinel import RedisSentinelSet
from .support.traffic import (
    Event,
    Listener,
    Sender,
    assert_each_acknowledged_message_arrived_once_in_seq_order,
    chatting,
    server_errors,
    until,
)

# A cluster of real processes takes the machine for minutes: `make test-ha` runs these alone.
pytestmark = [pytest.mark.serial, pytest.mark.ha]

# Each process lists every node, its own first; the second process's list starts at node 1.
NODE_ORDER = ([0, 1, 2], [1, 2, 0])
# Generous bounds on waits for a condition (a loaded machine is slow), not expectations.
DEADLINE = 120.0
SENDS_BETWEEN_STEPS = 10


@pytest.fixture
async def http() -> AsyncIterator[AsyncHTTPClient]:
    client = AsyncHTTPClient(force_instance=True, max_clients=200)
    yield client
    client.close()


@dataclass
class Deployment:
    """Two app processes on the cluster and Sentinel, and the database they share."""

    cluster: GaleraCluster
    sentinels: RedisSentinelSet
    database: str
    processes: list[ChatProcess]
    start: Callable[..., ChatProcess]

    def node_url(self, index: int) -> DatabaseURL:
        return DatabaseURL.parse(self.cluster.node_url(index, self.database))

    def start_process(self, order: list[int], *flags: str) -> ChatProcess:
        return self.start("--database-url", self.cluster.url(self.database, order), "--redis-url", self.sentinels.url,
                          "--db-failback-interval", "1", *flags)


@pytest.fixture
def deployment(galera: GaleraCluster, sentinel_set: RedisSentinelSet, tmp_path: Path) -> Iterator[Deployment]:
    database = unique("tc_ha")
    with running_chat_processes(DatabaseURL.parse(galera.url(database, NODE_ORDER[0])), tmp_path) as start:
        scene = Deployment(galera, sentinel_set, database, [], start)
        scene.processes = [scene.start_process(order) for order in NODE_ORDER]
        yield scene


@dataclass
class Traffic:
    """A sender and a listener on each process, all in one group."""

    senders: list[Sender]
    listeners: list[Listener]
    stop_listening: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @classmethod
    async def start(cls, deployment: Deployment, http: AsyncHTTPClient) -> Traffic:
        clients = [Client(chat.base_url, http) for chat in deployment.processes]
        ana, bob, group_id, bob_cursor = await chatting(clients[0])
        ana_cursor = await clients[1].cursor(ana)
        traffic = cls(
            senders=[Sender(clients[0], ana, group_id, senders=2), Sender(clients[1], bob, group_id, senders=2)],
            listeners=[Listener(clients[1], bob, bob_cursor, group_id),
                       Listener(clients[0], ana, ana_cursor, group_id)],
        )
        traffic.tasks = [asyncio.create_task(s.run()) for s in traffic.senders]
        traffic.tasks += [asyncio.create_task(listener.run(traffic.stop_listening)) for listener in traffic.listeners]
        await traffic.more_acknowledged()
        return traffic

    @property
    def acknowledged(self) -> dict[str, Event]:
        return {client_id: m for sender in self.senders for client_id, m in sender.acknowledged.items()}

    async def more_acknowledged(self, count: int = SENDS_BETWEEN_STEPS) -> None:
        """Until every sender has had ``count`` more sends acknowledged."""
        targets = [len(sender.acknowledged) + count for sender in self.senders]
        await until(lambda: all(len(s.acknowledged) >= t for s, t in zip(self.senders, targets, strict=True)),
                    DEADLINE)

    @staticmethod
    def longest_pause_after(moment: float, times: list[float]) -> float:
        """The longest time without an acknowledgement (or a delivery) since ``moment``, the fault:
        how long sends took to succeed again. (The first acknowledgement after a fault may be of a
        send committed just before it, so the time to the first is not the measure.)"""
        since = [moment, *(t for t in times if t > moment)]
        return max(later - earlier for earlier, later in zip(since, since[1:], strict=False))

    async def wind_down(self) -> None:
        """Stop sending, send one last message, and wait until both listeners have it: every
        acknowledged message before it has had its chance to arrive."""
        for sender in self.senders:
            sender.running = False
        await asyncio.gather(*self.tasks[:len(self.senders)])
        last = await self.senders[0].send(unique("last"))
        self.stop_listening.set()
        await asyncio.gather(*self.tasks[len(self.senders):])
        for listener in self.listeners:
            await listener.until_received(last["id"], DEADLINE)

    def assert_nothing_lost_or_repeated(self, url: DatabaseURL) -> None:
        for listener in self.listeners:
            assert_each_acknowledged_message_arrived_once_in_seq_order(self.acknowledged, listener, url)
        refused = {(r.status, r.error_code) for sender in self.senders for r in sender.refusals}
        assert refused <= {(503, "unavailable")}
        assert {status for listener in self.listeners for status in listener.statuses} <= {200, 503}

    def figures(self) -> str:
        return (f"{len(self.acknowledged)} acknowledged, "
                f"{sum(s.retries_found_stored for s in self.senders)} retries found their message stored, "
                f"{sum(len(s.refusals) for s in self.senders)} refused (503), "
                f"{sum(s.unanswered for s in self.senders)} unanswered")


async def metric(http: AsyncHTTPClient, chat: ChatProcess, name: str) -> float | None:
    """A figure of the process's /metrics (``name`` with its labels), None when it has none."""
    text = (await http.fetch(chat.base_url + "/metrics")).body.decode()
    found = re.search(rf"^{re.escape(name)} (\S+)$", text, re.M)
    return float(found[1]) if found else None


async def until_metric(http: AsyncHTTPClient, chat: ChatProcess, name: str, value: float | None) -> None:
    """Until the figure is ``value`` (None: until the process shows no such figure)."""
    for _ in range(int(DEADLINE / 0.2)):
        if await metric(http, chat, name) == value:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"{name} never became {value}")


async def conflicts_retried(http: AsyncHTTPClient, chat: ChatProcess) -> int:
    """The process's transactions run again after a certification conflict."""
    return int(await metric(http, chat, "chat_db_conflicts_retried_total") or 0)


async def stored_everywhere(deployment: Deployment, group_id: int, count: int) -> None:
    """Until every node holds the group's ``count`` messages: a node that rejoined has what it missed."""

    def counts() -> list[int]:
        return [query(deployment.node_url(i), "SELECT COUNT(*) FROM messages WHERE group_id = %s", (group_id,))[0][0]
                for i in range(len(deployment.cluster.nodes))]

    await until(lambda: counts() == [count] * len(deployment.cluster.nodes), DEADLINE)


async def test_a_database_node_killed_under_traffic_then_rejoining_loses_and_repeats_nothing(
    deployment: Deployment, http: AsyncHTTPClient, record_property: Callable[[str, object], None],
) -> None:
    traffic = await Traffic.start(deployment, http)
    node = deployment.cluster.nodes[0]  # the first process's own node
    first_node = 'chat_db_node{address="' + ":".join(map(str, node.address)) + '"}'

    killed = time.monotonic()
    await asyncio.to_thread(node.kill)
    await traffic.more_acknowledged()
    recovery = [traffic.longest_pause_after(killed, sender.acknowledged_at) for sender in traffic.senders]
    assert await metric(http, deployment.processes[0], first_node) is None  # it moved to the next node
    rejoining = time.monotonic()
    await asyncio.to_thread(node.start)  # the traffic goes on while it catches up (IST)
    rejoined = time.monotonic() - rejoining
    await until_metric(http, deployment.processes[0], first_node, 1)  # and back, once it is synced
    back = time.monotonic() - rejoining - rejoined
    await traffic.more_acknowledged()
    await traffic.wind_down()

    conflicts = [await conflicts_retried(http, chat) for chat in deployment.processes]
    print(f"\nkill -9 of database node 0: the longest pause in acknowledgements was {recovery[0]:.2f} s on the "
          f"process that wrote through it, {recovery[1]:.2f} s on the other; the node rejoined in "
          f"{rejoined:.2f} s and the process was back on it {back:.2f} s later; {traffic.figures()}; "
          f"conflicts retried by each process: {conflicts}")
    record_property("db_node_kill_recovery_seconds", [round(r, 3) for r in recovery])
    record_property("db_node_rejoin_seconds", round(rejoined, 3))
    traffic.assert_nothing_lost_or_repeated(deployment.node_url(1))
    await stored_everywhere(deployment, traffic.listeners[0].group_id, len(traffic.listeners[0].received))
    assert [server_errors(chat) for chat in deployment.processes] == [[], []]


async def test_the_redis_primary_killed_under_traffic_loses_and_repeats_nothing(
    deployment: Deployment, http: AsyncHTTPClient, record_property: Callable[[str, object], None],
) -> None:
    traffic = await Traffic.start(deployment, http)

    killed = time.monotonic()
    old = await asyncio.to_thread(deployment.sentinels.kill_primary)
    await asyncio.to_thread(deployment.sentinels.wait_for_failover, old, DEADLINE)
    promoted = time.monotonic() - killed
    await traffic.more_acknowledged()
    await traffic.wind_down()
    pauses = [traffic.longest_pause_after(killed, listener.received_at) for listener in traffic.listeners]

    print(f"\nkill -9 of the Redis primary: the sentinels agreed on the replica after {promoted:.2f} s; the longest "
          f"pause in deliveries was {max(pauses):.2f} s (from MySQL meanwhile); {traffic.figures()}")
    record_property("redis_failover_seconds", round(promoted, 3))
    assert [(s.unanswered, [(r.status, r.error_code) for r in s.refusals]) for s in traffic.senders] == [(0, [])] * 2
    traffic.assert_nothing_lost_or_repeated(deployment.node_url(0))
    assert [server_errors(chat) for chat in deployment.processes] == [[], []]


async def test_an_app_process_killed_under_traffic_loses_and_repeats_nothing(
    deployment: Deployment, http: AsyncHTTPClient, record_property: Callable[[str, object], None],
) -> None:
    traffic = await Traffic.start(deployment, http)
    dead, alive = deployment.processes

    killed = time.monotonic()
    dead.process.kill()
    dead.process.wait()
    # The load balancer sends the dead process's users (its sender and listener share a client) to the other.
    traffic.senders[0].client.base_url = alive.base_url
    await traffic.more_acknowledged()
    recovery = traffic.longest_pause_after(killed, traffic.senders[0].acknowledged_at)
    await traffic.wind_down()

    print(f"\nkill -9 of an app process: the longest pause in its users' acknowledgements was {recovery:.2f} s "
          f"(then through the other process); {traffic.figures()}")
    record_property("app_process_kill_recovery_seconds", round(recovery, 3))
    traffic.assert_nothing_lost_or_repeated(deployment.node_url(1))
    assert server_errors(alive) == []


async def test_a_whole_machine_pulled_under_traffic_loses_and_repeats_nothing(
    deployment: Deployment, http: AsyncHTTPClient, record_property: Callable[[str, object], None],
) -> None:
    """Machine 1 of deploy/README.md at once: its database node, the Redis primary and its app process."""
    traffic = await Traffic.start(deployment, http)
    dead, alive = deployment.processes

    pulled = time.monotonic()
    dead.process.kill()
    await asyncio.gather(asyncio.to_thread(deployment.cluster.nodes[0].kill),
                         asyncio.to_thread(deployment.sentinels.kill_primary))
    traffic.senders[0].client.base_url = alive.base_url  # the load balancer sends everyone to the machine left
    await traffic.more_acknowledged()
    pauses = [traffic.longest_pause_after(pulled, sender.acknowledged_at) for sender in traffic.senders]
    await traffic.wind_down()

    print(f"\nmachine 1 pulled (database node, Redis primary, app process): the longest pause in acknowledgements "
          f"was {max(pauses):.2f} s; {traffic.figures()}")
    record_property("machine_pulled_longest_pause_seconds", round(max(pauses), 3))
    traffic.assert_nothing_lost_or_repeated(deployment.node_url(1))
    assert server_errors(alive) == []


async def test_a_hung_database_node_is_left_for_the_next_once_a_call_runs_out_of_time(
    deployment: Deployment, http: AsyncHTTPClient, record_property: Callable[[str, object], None],
) -> None:
    """A node that stops answering (SIGSTOP: its sockets stay open, nothing breaks) gives no error to
    go by, only calls that run out of time; a check of the node then fails, and the pool moves on."""
    short = ("--db-connect-timeout", "1", "--db-acquire-timeout", "2", "--db-statement-timeout", "2")
    deployment.processes[0] = deployment.start_process(NODE_ORDER[0], *short)
    traffic = await Traffic.start(deployment, http)
    node = deployment.cluster.nodes[0]
    first_node = 'chat_db_node{address="' + ":".join(map(str, node.address)) + '"}'

    hung = time.monotonic()
    os.kill(node.pid, signal.SIGSTOP)
    try:
        await until_metric(http, deployment.processes[0], first_node, None)
        moved = time.monotonic() - hung
        await traffic.more_acknowledged()
        pause = traffic.longest_pause_after(hung, traffic.senders[0].acknowledged_at)
        await traffic.wind_down()
    finally:
        os.kill(node.pid, signal.SIGCONT)
        await asyncio.to_thread(node.kill)  # evicted meanwhile: the fixture starts it again, to rejoin

    print(f"\nSIGSTOP of database node 0: the process left it after {moved:.2f} s; the longest pause in its "
          f"acknowledgements was {pause:.2f} s; {traffic.figures()}")
    record_property("db_node_hung_moved_seconds", round(moved, 3))
    traffic.assert_nothing_lost_or_repeated(deployment.node_url(1))
    assert [server_errors(chat) for chat in deployment.processes] == [[], []]
