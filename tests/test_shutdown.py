"""SIGTERM: stop taking connections, answer the waiting polls, write presence, exit 0 within 5 s."""

from __future__ import annotations

import asyncio
import signal
import socket
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
from tornado.httpclient import AsyncHTTPClient

from tornado_chat.config import DatabaseURL
from tornado_chat.models import utcnow

from .support.database import query
from .support.http import Account, Client
from .support.processes import ChatProcess
from .test_metrics import until_metric

SHUTDOWN_BOUND = 5.0  # seconds, as promised: SIGTERM to exit


async def parked_alone(client: Client, account: Account) -> asyncio.Task:
    """A poll of ``account``, alone in a group of its own, parked with nothing left to tell it."""
    await client.create_group(account)
    cursor = await client.cursor(account)
    await asyncio.sleep(0.3)  # its own arrival is announced
    cursor = (await client.poll(account, cursor, timeout=0)).json["cursor"]
    return asyncio.create_task(client.poll(account, cursor, timeout=30))


async def test_on_sigterm_polls_are_answered_connections_refused_presence_written_and_exit_0_within_5_s(
    chat_processes: Callable[..., ChatProcess], database: DatabaseURL
) -> None:
    chat = chat_processes()
    http = AsyncHTTPClient(force_instance=True)
    client = Client(chat.base_url, http)
    users = [await client.register() for _ in range(5)]
    polls = await asyncio.gather(*(parked_alone(client, user) for user in users))
    await until_metric(client, "chat_open_polls", len(users))

    told_to_stop = utcnow()
    chat.process.send_signal(signal.SIGTERM)
    signalled = time.monotonic()
    answers = await asyncio.gather(*polls)
    assert [a.status for a in answers] == [200] * len(users)
    assert all(isinstance(a.json["cursor"], str) and a.json["events"] == [] for a in answers)
    url = urlsplit(chat.base_url)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((url.hostname, url.port), timeout=5).close()
    assert chat.process.wait(timeout=max(0.0, SHUTDOWN_BOUND - (time.monotonic() - signalled))) == 0
    http.close()

    ids = [u.id for u in users]
    seen = query(database, f"SELECT last_seen FROM presence WHERE user_id IN ({','.join(['%s'] * len(ids))})", ids)
    assert len(seen) == len(users)
    assert all(last_seen >= told_to_stop for (last_seen,) in seen)  # written as the polls ended, at the stop
