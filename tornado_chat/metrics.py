"""Prometheus metrics of one process, in a registry of its own (one per application).

What is counted once per request or per delivery (requests answered, delivery latency) is
kept in plain integers and read by a collector at scrape time: prometheus_client's own
``Counter`` and ``Histogram`` take a lock and look up labels on every call, which at a
fan-out to thousands of polls cost more per answer than the delivery itself (issue 14).
The event loop is the only writer, so no lock is needed.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from .models import LogEntry
from .store.database import PoolUse

CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    def __init__(self, open_polls: Callable[[], float]) -> None:
        self.registry = CollectorRegistry()
        self.requests: dict[tuple[str, str, int], int] = {}  # (handler, method, status) -> answered
        self.latency = LatencyHistogram()
        self.registry.register(HotPathCollector(self.requests, self.latency))
        self.messages = Counter("chat_messages_stored", "Messages stored by this process", registry=self.registry)
        Gauge("chat_open_polls", "Events requests open now", registry=self.registry).set_function(open_polls)

    def request_answered(self, handler: str, method: str, status: int) -> None:
        key = (handler, method, status)
        self.requests[key] = self.requests.get(key, 0) + 1

    def watch_redis(self, connected: Callable[[], float], received: Callable[[], float]) -> None:
        Gauge("chat_redis_connected", "1 while this process listens to Redis", registry=self.registry).set_function(
            connected
        )
        Gauge(
            "chat_redis_changes_received", "Changes heard from other processes through Redis", registry=self.registry
        ).set_function(received)

    def watch_bcrypt(self, operations: Callable[[], float]) -> None:
        Gauge(
            "chat_bcrypt_operations", "bcrypt hashes and checks run: one per sign-in, known username or not",
            registry=self.registry,
        ).set_function(operations)

    def watch_pool(self, pool_use: Callable[[], PoolUse]) -> None:
        self.registry.register(PoolCollector(pool_use))

    def watch_push(self, counts: Callable[[], PushFigures]) -> None:
        self.registry.register(PushCollector(counts))

    def delivered(self, entries: list[LogEntry]) -> None:
        if not entries:
            return
        now = time.time()
        for entry in entries:
            self.latency.observe(max(0.0, now - entry.created))

    def render(self) -> bytes:
        return generate_latest(self.registry)


DELIVERY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class LatencyHistogram:
    """Counts per bucket (the last: above every bound) and the sum, as Prometheus wants them."""

    def __init__(self, bounds: tuple[float, ...] = DELIVERY_BUCKETS) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.total = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, seconds)] += 1
        self.total += seconds


class HotPathCollector(Collector):
    """Requests answered and delivery latency, from the plain counts, at scrape time."""

    def __init__(self, requests: dict[tuple[str, str, int], int], latency: LatencyHistogram) -> None:
        self._requests = requests
        self._latency = latency

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "chat_http_requests", "HTTP requests answered", labels=["handler", "method", "status"]
        )
        for (handler, method, status), count in sorted(self._requests.items()):
            requests.add_metric([handler, method, str(status)], count)
        yield requests
        latency, running = self._latency, 0
        buckets = []
        for bound, count in zip([*map(floatToGoString, latency.bounds), "+Inf"], latency.counts, strict=True):
            running += count
            buckets.append((bound, running))
        yield HistogramMetricFamily(
            "chat_delivery_latency_seconds", "From a message being stored to an events answer carrying it",
            buckets=buckets, sum_value=latency.total,
        )


@dataclass(frozen=True)
class PushFigures:
    """Web Push of this process: pushes a push service accepted, pushes given up on, messages
    dropped from the full queue, subscriptions deleted as gone, and messages waiting now."""

    sent: int
    failed: int
    dropped: int
    gone: int
    queued: int


class PushCollector(Collector):
    """Web Push figures, read once per scrape."""

    def __init__(self, figures: Callable[[], PushFigures]) -> None:
        self._figures = figures

    def collect(self) -> Iterator[Metric]:
        push = self._figures()
        yield CounterMetricFamily("chat_pushes_sent", "Web Pushes a push service accepted", value=push.sent)
        yield CounterMetricFamily(
            "chat_pushes_failed", "Web Pushes given up on (refused, or still failing after the retries)",
            value=push.failed,
        )
        yield CounterMetricFamily(
            "chat_pushes_dropped", "Messages dropped from the full push queue, never pushed", value=push.dropped
        )
        yield CounterMetricFamily(
            "chat_push_subscriptions_gone", "Subscriptions deleted because their push service answered 404 or 410",
            value=push.gone,
        )
        yield GaugeMetricFamily("chat_push_queue_length", "Messages waiting for the push worker now", value=push.queued)


class PoolCollector(Collector):
    """The database pool, read once per scrape so that its figures agree with each other."""

    def __init__(self, pool_use: Callable[[], PoolUse]) -> None:
        self._pool_use = pool_use

    def collect(self) -> Iterator[Metric]:
        use = self._pool_use()
        connections = GaugeMetricFamily(
            "chat_db_pool_connections", "Database connections open now, idle or lent out", labels=["state"]
        )
        connections.add_metric(["free"], use.free)
        connections.add_metric(["in_use"], use.in_use)
        yield connections
        yield GaugeMetricFamily("chat_db_pool_size", "Database connections open now", value=use.size)
        yield GaugeMetricFamily("chat_db_pool_max", "Most database connections the pool opens", value=use.max)
        yield GaugeMetricFamily(
            "chat_db_pool_waiting", "Statements waiting for a database connection now", value=use.waiting
        )
        node = GaugeMetricFamily("chat_db_node", "The database node the pool talks to now (1)", labels=["address"])
        node.add_metric([use.node], 1)
        yield node
        yield CounterMetricFamily(
            "chat_db_failovers", "Times the pool moved to the next database node after its node failed",
            value=use.failovers,
        )
        yield CounterMetricFamily(
            "chat_db_conflicts_retried",
            "Transactions run again after losing a conflict (Galera certification, or an InnoDB deadlock)",
            value=use.conflicts_retried,
        )
