"""The hot path's plain counters read like prometheus_client's own Counter and Histogram."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from tornado_chat.metrics import DELIVERY_BUCKETS, Metrics

LATENCIES = (0.0, 0.004, 0.005, 0.0051, 0.3, 1.0, 7.5, 11.0, 11.0)  # on bounds, between them and above the last


def samples(text: bytes, prefix: str) -> list[str]:
    return [line for line in text.decode().splitlines() if line.startswith(prefix) and "_created" not in line]


def test_delivery_latency_is_exposed_as_prometheus_clients_histogram_would_expose_it() -> None:
    metrics = Metrics(lambda: 0)
    reference = CollectorRegistry()
    histogram = Histogram("chat_delivery_latency_seconds", "x", buckets=DELIVERY_BUCKETS, registry=reference)
    for seconds in LATENCIES:
        metrics.latency.observe(seconds)
        histogram.observe(seconds)
    name = "chat_delivery_latency_seconds"
    assert samples(metrics.render(), name) == samples(generate_latest(reference), name)


def test_requests_answered_are_exposed_as_prometheus_clients_counter_would_expose_them() -> None:
    metrics = Metrics(lambda: 0)
    reference = CollectorRegistry()
    counter = Counter("chat_http_requests", "x", ["handler", "method", "status"], registry=reference)
    for handler, method, status in [("EventsHandler", "GET", 200)] * 3 + [("MessagesHandler", "POST", 201)]:
        metrics.request_answered(handler, method, status)
        counter.labels(handler, method, str(status)).inc()
    name = "chat_http_requests_total"
    assert sorted(samples(metrics.render(), name)) == sorted(samples(generate_latest(reference), name))
