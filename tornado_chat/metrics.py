"""Prometheus metrics of one process, in a registry of its own (one per application)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from .models import LogEntry
from .store.database import PoolUse

CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    def __init__(self, open_polls: Callable[[], float]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "chat_http_requests", "HTTP requests answered", ["handler", "method", "status"], registry=self.registry
        )
        self.messages = Counter("chat_messages_stored", "Messages stored by this process", registry=self.registry)
        self.delivery_latency = Histogram(
            "chat_delivery_latency_seconds",
            "From a message being stored to an events answer carrying it",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        Gauge("chat_open_polls", "Events requests open now", registry=self.registry).set_function(open_polls)
        self._request_counters: dict[tuple[str, str, int], Counter] = {}

    def request_answered(self, handler: str, method: str, status: int) -> None:
        """Count a request; each label set's counter is looked up once, not per request."""
        key = (handler, method, status)
        counter = self._request_counters.get(key)
        if counter is None:
            counter = self._request_counters[key] = self.requests.labels(handler, method, str(status))
        counter.inc()

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

    def delivered(self, entries: list[LogEntry]) -> None:
        if not entries:
            return
        now = time.time()
        for entry in entries:
            self.delivery_latency.observe(max(0.0, now - entry.created))

    def render(self) -> bytes:
        return generate_latest(self.registry)


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
