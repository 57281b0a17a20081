"""/metrics: every family operations relies on, with values that follow what the server does."""

from __future__ import annotations

import asyncio

from prometheus_client.parser import text_string_to_metric_families

from .support.http import Client
from .support.servers import Server, StartServer
from .test_events import collect


async def scrape(client: Client) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """Family name -> {labels: value} of one GET /metrics, parsed as Prometheus would."""
    r = await client.request("GET", "/metrics")
    assert r.status == 200
    assert r.headers["Content-Type"].startswith("text/plain")
    found: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(r.body.decode()):
        for sample in family.samples:
            found.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def value(metrics: dict[str, dict[tuple[tuple[str, str], ...], float]], name: str, **labels: str) -> float:
    return metrics[name][tuple(sorted(labels.items()))]


async def until_metric(client: Client, name: str, wanted: float, **labels: str) -> None:
    for _ in range(200):
        if value(await scrape(client), name, **labels) == wanted:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{name}{labels} never became {wanted}")


async def test_metrics_count_requests_by_route_and_status_messages_and_delivery_latency(server: Server) -> None:
    client = server.client()
    ana = await client.register()
    group = await client.create_group(ana)
    cursor = await client.cursor(ana)
    await client.send(ana, group["id"], "counted")
    await client.send(ana, group["id"], "counted too")
    await client.poll(ana, cursor, timeout=5)
    await client.request("GET", "/api/groups/nothing/messages", token=ana.token)
    metrics = await scrape(client)
    assert value(metrics, "chat_http_requests_total", handler="MessagesHandler", method="POST", status="201") == 2
    assert value(metrics, "chat_http_requests_total", handler="MessagesHandler", method="GET", status="404") == 1
    assert value(metrics, "chat_messages_stored_total") == 2
    assert value(metrics, "chat_delivery_latency_seconds_count") == 2
    assert value(metrics, "chat_delivery_latency_seconds_bucket", le="+Inf") == 2


async def test_open_polls_rise_with_parked_polls_and_return_to_zero(start_server: StartServer) -> None:
    server = await start_server(presence_change_interval=0.05)
    client = server.client()
    ana, bob = await client.register(), await client.register()
    group = await client.create_group(ana)
    await client.join(bob, group["id"])
    cursors = [await client.cursor(ana), await client.cursor(bob)]
    # past the news of both arriving, so that neither poll is answered before the other parks
    settled = await asyncio.gather(*(collect(client, who, c, lambda ev: False, limit=0.4)
                                     for who, c in zip((ana, bob), cursors, strict=True)))
    cursors = [cursor for _, cursor in settled]
    assert value(await scrape(client), "chat_open_polls") == 0
    polls = [asyncio.create_task(client.poll(who, c, timeout=30)) for who, c in zip((ana, bob), cursors, strict=True)]
    await until_metric(client, "chat_open_polls", 2)
    await client.send(ana, group["id"], "wake up")
    await asyncio.gather(*polls)
    await until_metric(client, "chat_open_polls", 0)


async def test_database_pool_shows_size_free_in_use_max_and_waiting(start_server: StartServer) -> None:
    server = await start_server(db_pool_size=2)
    client = server.client()
    ana = await client.register()
    metrics = await scrape(client)
    size = value(metrics, "chat_db_pool_size")
    assert value(metrics, "chat_db_pool_max") == 2
    assert 1 <= size <= 2
    assert value(metrics, "chat_db_pool_connections", state="free") == size
    assert value(metrics, "chat_db_pool_connections", state="in_use") == 0
    assert value(metrics, "chat_db_pool_waiting") == 0

    pool = server.app.parts.store.db._pool
    held = [await pool.acquire(), await pool.acquire()]  # every connection lent out
    try:
        metrics = await scrape(client)
        assert value(metrics, "chat_db_pool_connections", state="in_use") == 2
        assert value(metrics, "chat_db_pool_connections", state="free") == 0
        me = asyncio.create_task(client.request("GET", "/api/me", token=ana.token))
        await until_metric(client, "chat_db_pool_waiting", 1)
    finally:
        for conn in held:
            pool.release(conn)
    assert (await me).status == 200
    await until_metric(client, "chat_db_pool_waiting", 0)
    assert value(await scrape(client), "chat_db_pool_connections", state="in_use") == 0


async def test_redis_connection_state_is_shown_when_redis_is_used(start_server: StartServer, redis_url: str) -> None:
    server = await start_server(redis_url=redis_url)
    await until_metric(server.client(), "chat_redis_connected", 1)
