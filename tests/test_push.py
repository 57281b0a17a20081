"""Web Push (issue 16), the server's side, with real parts: the application on a real port and
a push service of our own on loopback (``tests/support/push.py``) that checks each push's VAPID
JWT against ``GET /api/push``'s key and decrypts its payload with the private key of the
browser the test made. No push leaves this machine: a test application allows only the local
push service (``--push-endpoint-allow http://127.0.0.1:PORT/`` as a setting).

Waiting is on conditions (the application's push worker idle, requests parked), never on time.
"""

from __future__ import annotations

import asyncio
import os
import signal
import stat
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
from tornado.httpclient import AsyncHTTPClient

from tornado_chat.config import VAPID_KEY_FILE, DatabaseURL

from .support.database import query
from .support.http import Account, Client
from .support.processes import ChatProcess
from .support.push import Browser, LocalPushService, b64url, unb64url
from .support.servers import Server, StartServer
from .test_images import encode, quadrants, upload

LONG_TEXT = "é" * 100 + "🙂" * 30  # 130 characters


@pytest.fixture
async def push_service() -> AsyncIterator[LocalPushService]:
    service = LocalPushService()
    service.start()
    yield service
    await service.stop()
    assert not service.errors, service.errors[:3]


@pytest.fixture
async def start_app(
    start_server: StartServer, push_service: LocalPushService
) -> Callable[..., Any]:
    """Start the application allowing the local push service; the push service learns its key."""

    async def start(**overrides: Any) -> Server:
        server = await start_server(push_endpoint_allow=(push_service.prefix,), **overrides)
        if push_service.public_key is None:
            push_service.public_key = server.app.services.push.public_key
        return server

    return start


@pytest.fixture
async def app(start_app: Callable[..., Any]) -> Server:
    return await start_app()


async def settled(server: Server, limit: float = 10.0) -> None:
    """Until the push worker is idle: every message so far has had its pushes sent and answered."""
    for _ in range(int(limit / 0.02)):
        if server.app.services.push.idle:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the push worker did not become idle")


async def subscribe(client: Client, account: Account, browser: Browser, token: str | None = None) -> int:
    r = await client.request("POST", "/api/push/subscriptions", browser.subscription(), token=token or account.token)
    assert r.status in (200, 201), r.body
    return r.status


def endpoints(database: DatabaseURL, account: Account) -> list[str]:
    rows = query(database, "SELECT endpoint FROM push_subscriptions WHERE user_id = %s ORDER BY id", (account.id,))
    return [row[0] for row in rows]


async def set_notify(client: Client, account: Account, group_id: int, level: str) -> None:
    r = await client.request("PATCH", f"/api/groups/{group_id}/membership", {"notify": level}, token=account.token)
    assert r.status == 200 and r.json["group"]["notify"] == level, r.body


async def scene(client: Client, *readers: str) -> tuple[Account, dict[str, Account], dict[str, Any]]:
    """A sender, a public group, and a member per name in ``readers``, each offline."""
    sender = await client.register("sender")
    group = await client.create_group(sender)
    members = {}
    for name in readers:
        members[name] = await client.register(name)
        await client.join(members[name], group["id"])
    return sender, members, group


def expected(sender: Account, group: dict[str, Any], seq: int, text: str) -> dict[str, Any]:
    return {"type": "message", "group_id": group["id"], "group_name": group["name"], "seq": seq,
            "user": sender.user, "text": text}


# The key


async def test_the_public_key_is_made_once_and_kept_across_restarts(
    chat_processes: Callable[..., ChatProcess], tmp_path: Any
) -> None:
    http = AsyncHTTPClient(force_instance=True)
    try:
        keys = []
        for _ in range(2):
            process = chat_processes()
            client = Client(process.base_url, http)
            account = await client.register("keyholder")
            r = await client.request("GET", "/api/push", token=account.token)
            assert r.status == 200, r.body
            keys.append(r.json["public_key"])
            process.process.send_signal(signal.SIGTERM)
            assert process.process.wait(timeout=20) == 0
        assert keys[0] == keys[1]
        point = unb64url(keys[0])
        assert len(point) == 65 and point[0] == 4
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)  # a point of P-256
        kept = tmp_path / "var" / VAPID_KEY_FILE
        assert stat.S_IMODE(os.stat(kept).st_mode) == 0o600

        configured = ec.generate_private_key(ec.SECP256R1())
        pem = tmp_path / "configured.pem"
        pem.write_bytes(configured.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
        process = chat_processes("--vapid-private-key", str(pem))
        client = Client(process.base_url, http)
        account = await client.register("keyholder")
        r = await client.request("GET", "/api/push", token=account.token)
        assert r.json["public_key"] == b64url(
            configured.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        )
    finally:
        http.close()


# Subscriptions


async def test_subscribing_answers_201_then_200_for_the_same_endpoint(
    app: Server, push_service: LocalPushService, database: DatabaseURL
) -> None:
    client = app.client()
    account = await client.register("subscriber")
    browser = push_service.browser()
    assert await subscribe(client, account, browser) == 201
    assert await subscribe(client, account, browser) == 200
    assert endpoints(database, account) == [browser.endpoint]


def _bad_subscriptions(service: LocalPushService, browser: Browser) -> dict[str, Any]:
    good = browser.subscription()
    keys = good["keys"]
    off_curve = b64url(b"\x04" + b"\x01" * 64)
    return {
        "ftp scheme": {**good, "endpoint": "ftp://127.0.0.1/push/x"},
        "javascript scheme": {**good, "endpoint": "javascript:alert(1)"},
        "outside the allow-list": {**good, "endpoint": "https://push.example.com/x"},
        "another port of the allowed host": {**good, "endpoint": service.origin + "0/push/x"},
        "user info before the allowed host": {**good, "endpoint": f"http://127.0.0.1:{service.port}@evil.test/x"},
        "a space in the endpoint": {**good, "endpoint": service.prefix + "push/a b"},
        "an endpoint too long": {**good, "endpoint": service.prefix + "x" * 1000},
        "p256dh not on the curve": {**good, "keys": {**keys, "p256dh": off_curve}},
        "p256dh too short": {**good, "keys": {**keys, "p256dh": b64url(browser.public_bytes[:33])}},
        "p256dh not base64url": {**good, "keys": {**keys, "p256dh": "!" * 87}},
        "auth too short": {**good, "keys": {**keys, "auth": b64url(b"x" * 8)}},
        "auth missing": {**good, "keys": {"p256dh": keys["p256dh"]}},
        "endpoint a number": {**good, "endpoint": 12},
        "endpoint missing": {"keys": keys},
        "keys a list": {**good, "keys": [keys["p256dh"], keys["auth"]]},
        "keys missing": {"endpoint": good["endpoint"]},
        "p256dh a number": {**good, "keys": {**keys, "p256dh": 4}},
        "auth null": {**good, "keys": {**keys, "auth": None}},
    }


async def test_invalid_subscriptions_are_400_invalid_subscription_and_nothing_is_stored(
    app: Server, push_service: LocalPushService, database: DatabaseURL
) -> None:
    client = app.client()
    account = await client.register("subscriber")
    wrong = {}
    for why, body in _bad_subscriptions(push_service, push_service.browser()).items():
        r = await client.request("POST", "/api/push/subscriptions", body, token=account.token)
        if (r.status, r.error_code) != (400, "invalid_subscription"):
            wrong[why] = (r.status, r.body[:200])
    assert not wrong, wrong
    assert endpoints(database, account) == []


async def test_a_user_keeps_at_most_ten_subscriptions_the_oldest_goes(
    app: Server, push_service: LocalPushService, database: DatabaseURL
) -> None:
    client = app.client()
    account = await client.register("subscriber")
    browsers = [push_service.browser() for _ in range(12)]
    for browser in browsers:
        assert await subscribe(client, account, browser) == 201
    assert endpoints(database, account) == [b.endpoint for b in browsers[2:]]


async def test_unsubscribing_answers_204_known_or_not(
    app: Server, push_service: LocalPushService, database: DatabaseURL
) -> None:
    client = app.client()
    account = await client.register("subscriber")
    kept, dropped = push_service.browser(), push_service.browser()
    await subscribe(client, account, kept)
    await subscribe(client, account, dropped)
    for _ in range(2):  # the second time it is unknown
        r = await client.request("DELETE", "/api/push/subscriptions", {"endpoint": dropped.endpoint},
                                 token=account.token)
        assert r.status == 204, r.body
    assert endpoints(database, account) == [kept.endpoint]


async def test_signing_out_deletes_the_subscriptions_of_that_session_only(
    app: Server, push_service: LocalPushService, database: DatabaseURL
) -> None:
    client = app.client()
    account = await client.register("subscriber")
    sessions = [account.token]
    for _ in range(2):
        r = await client.request("POST", "/api/session", {"username": account.username, "password": account.password})
        sessions.append(r.json["token"])
    browsers = [push_service.browser() for _ in sessions]
    for token, browser in zip(sessions, browsers, strict=True):
        await subscribe(client, account, browser, token=token)
    assert (await client.request("DELETE", "/api/session", token=sessions[0])).status == 204
    assert endpoints(database, account) == [b.endpoint for b in browsers[1:]]
    xsrf = "0123456789abcdef0123456789abcdef"
    r = await client.request("POST", "/logout", token=sessions[1],
                             headers={"Cookie": f"_xsrf={xsrf}", "X-XSRFToken": xsrf})
    assert r.status == 302
    assert endpoints(database, account) == [browsers[2].endpoint]


# Who gets a push, and what


async def test_an_offline_member_gets_exactly_one_push_per_message_with_the_contracts_payload(
    app: Server, push_service: LocalPushService
) -> None:
    client = app.client()
    sender, members, group = await scene(client, "reader")
    reader = members["reader"]
    phone, laptop = push_service.browser(), push_service.browser()
    await subscribe(client, reader, phone)
    await subscribe(client, reader, laptop)
    assert (await client.send(sender, group["id"], "hello", client_id="c1")).status == 201
    assert (await client.send(sender, group["id"], "hello", client_id="c1")).status == 200  # a retry: no push
    assert (await client.send(sender, group["id"], LONG_TEXT)).status == 201
    assert (await upload(client, sender, group["id"], encode(quadrants(), "PNG"))).status == 201
    await settled(app)
    for browser in (phone, laptop):
        assert push_service.to(browser) == [
            expected(sender, group, 1, "hello"),
            expected(sender, group, 2, LONG_TEXT[:119] + "…"),
            expected(sender, group, 3, "📷"),
        ]
    assert len(push_service.pushes) == 6


async def test_an_online_member_gets_no_push(start_app: Callable[..., Any], push_service: LocalPushService) -> None:
    app, elsewhere = await start_app(), await start_app()
    client = app.client()
    sender, members, group = await scene(client, "polling_here", "polling_elsewhere", "offline")
    browsers = {name: push_service.browser() for name in members}
    for name, account in members.items():
        await subscribe(client, account, browsers[name])
    cursors = {"polling_here": await client.cursor(members["polling_here"]),
               "polling_elsewhere": await elsewhere.client().cursor(members["polling_elsewhere"])}
    here = asyncio.ensure_future(client.poll(members["polling_here"], cursors["polling_here"]))
    there = asyncio.ensure_future(elsewhere.client().poll(members["polling_elsewhere"], cursors["polling_elsewhere"]))
    await app.parked(1)
    await elsewhere.parked(1)
    await elsewhere.app.services.presence.flush()  # its presence row: the other process's word that they are on
    assert (await client.send(sender, group["id"], "who is there?")).status == 201
    await asyncio.gather(here, there)
    await settled(app)
    assert push_service.to(browsers["polling_here"]) == []
    assert push_service.to(browsers["polling_elsewhere"]) == []
    assert push_service.to(browsers["offline"]) == [expected(sender, group, 1, "who is there?")]


async def test_notification_levels_all_mentions_and_none_are_respected(
    app: Server, push_service: LocalPushService
) -> None:
    client = app.client()
    sender, members, group = await scene(client, "all", "mentions", "none")
    browsers = {name: push_service.browser() for name in members}
    for name, account in members.items():
        await subscribe(client, account, browsers[name])
        await set_notify(client, account, group["id"], name)
    texts = ["nothing special", f"hi @{members['mentions'].username}", f"hi @{members['none'].username}"]
    for text in texts:
        assert (await client.send(sender, group["id"], text)).status == 201
    await settled(app)
    assert push_service.to(browsers["all"]) == [expected(sender, group, i + 1, t) for i, t in enumerate(texts)]
    assert push_service.to(browsers["mentions"]) == [expected(sender, group, 2, texts[1])]
    assert push_service.to(browsers["none"]) == []


async def test_in_a_direct_group_every_message_counts_as_mentioning_the_other(
    app: Server, push_service: LocalPushService
) -> None:
    client = app.client()
    sender = await client.register("sender")
    pushed = {}
    for level in ("mentions", "none"):
        peer = await client.register(level)
        r = await client.request("PUT", f"/api/direct/{peer.username}", token=sender.token)
        assert r.status in (200, 201), r.body
        group = r.json["group"]
        browser = push_service.browser()
        await subscribe(client, peer, browser)
        await set_notify(client, peer, group["id"], level)
        assert (await client.send(sender, group["id"], "just us")).status == 201
        await settled(app)
        pushed[level] = push_service.to(browser)
        if level == "mentions":  # named after the sender, as the peer sees the conversation
            assert pushed[level] == [{**expected(sender, group, 1, "just us"), "group_name": sender.username}]
    assert len(pushed["mentions"]) == 1
    assert pushed["none"] == []


async def test_the_sender_never_gets_a_push_of_their_own_message(app: Server, push_service: LocalPushService) -> None:
    client = app.client()
    sender, members, group = await scene(client, "reader")
    own, readers = push_service.browser(), push_service.browser()
    await subscribe(client, sender, own)
    await subscribe(client, members["reader"], readers)
    assert (await client.send(sender, group["id"], f"note to self @{sender.username}")).status == 201
    await settled(app)
    assert push_service.to(own) == []
    assert len(push_service.to(readers)) == 1


# The push service's answers


@pytest.mark.parametrize("status", [404, 410])
async def test_a_subscription_its_push_service_calls_gone_is_deleted(
    status: int, app: Server, push_service: LocalPushService, database: DatabaseURL
) -> None:
    client = app.client()
    sender, members, group = await scene(client, "reader")
    gone, kept = push_service.browser(), push_service.browser()
    await subscribe(client, members["reader"], gone)
    await subscribe(client, members["reader"], kept)
    push_service.answers[gone.name] = [status]
    assert (await client.send(sender, group["id"], "still there?")).status == 201
    await settled(app)
    assert endpoints(database, members["reader"]) == [kept.endpoint]
    assert (await client.send(sender, group["id"], "and now?")).status == 201
    await settled(app)
    assert push_service.to(gone) == []
    assert len(push_service.to(kept)) == 2
    assert app.app.services.push.counts.gone == 1


async def test_a_push_answered_429_is_sent_again_after_the_back_off(
    start_app: Callable[..., Any], push_service: LocalPushService
) -> None:
    app = await start_app(push_retry_delay=0.01)
    client = app.client()
    sender, members, group = await scene(client, "reader")
    browser = push_service.browser()
    await subscribe(client, members["reader"], browser)
    push_service.answers[browser.name] = [429, 503]  # Retry-After: 0, then the back-off's own wait
    assert (await client.send(sender, group["id"], "third time lucky")).status == 201
    await settled(app)
    assert push_service.to(browser) == [expected(sender, group, 1, "third time lucky")]
    assert push_service.requests == 3
    assert (app.app.services.push.counts.sent, app.app.services.push.counts.failed) == (1, 0)


async def hung_scene(
    start_app: Callable[..., Any], push_service: LocalPushService, sends: int
) -> tuple[Server, list[int]]:
    """A push service that holds every request; an application with 2 pushes in flight at most
    and room for 3 waiting messages; ``sends`` messages to a member who is offline. Returns once
    the sends are answered, with their statuses."""
    app = await start_app(push_concurrency=2, push_queue_size=3, push_timeout=60.0)
    client = app.client()
    sender, members, group = await scene(client, "reader")
    await subscribe(client, members["reader"], push_service.browser())
    push_service.hold()
    statuses = [(await client.send(sender, group["id"], f"message {i}")).status for i in range(sends)]
    await push_service.wait_parked(2)
    return app, statuses


async def test_a_push_service_that_hangs_does_not_hold_up_sends(
    start_app: Callable[..., Any], push_service: LocalPushService
) -> None:
    app, statuses = await hung_scene(start_app, push_service, sends=3)
    # both pushes in flight are parked at the push service: every send was answered all the same
    assert len(push_service.parked) == 2
    assert statuses == [201] * 3
    client = app.client()
    sender = await client.register("another")
    group = await client.create_group(sender)
    assert (await client.send(sender, group["id"], "still quick")).status == 201
    assert len(push_service.parked) == 2 and push_service.pushes == []
    push_service.let_go()
    await settled(app)
    assert len(push_service.pushes) == 3


async def test_a_full_push_queue_drops_the_oldest_and_counts_it(
    start_app: Callable[..., Any], push_service: LocalPushService
) -> None:
    app, statuses = await hung_scene(start_app, push_service, sends=12)
    assert statuses == [201] * 12
    push = app.app.services.push
    for _ in range(250):  # the worker takes the third message and waits for a slot
        if push.queue_length == 3 and push.counts.dropped == 12 - 2 - 1 - 3:
            break
        await asyncio.sleep(0.02)
    assert (push.queue_length, push.counts.dropped) == (3, 6)
    metrics = (await app.client().request("GET", "/metrics")).body.decode()
    assert "chat_push_queue_length 3.0" in metrics
    assert "chat_pushes_dropped_total 6.0" in metrics
    push_service.let_go()
    await settled(app)
    texts = [p.payload["text"] for p in push_service.pushes]
    assert len(texts) == 6 and "message 11" in texts
    metrics = (await app.client().request("GET", "/metrics")).body.decode()
    assert "chat_pushes_sent_total 6.0" in metrics
    assert "chat_push_queue_length 0.0" in metrics


async def test_the_push_routes_need_a_session(app: Server, push_service: LocalPushService) -> None:
    client = app.client()
    browser = push_service.browser()
    calls = [("GET", "/api/push", None), ("POST", "/api/push/subscriptions", browser.subscription()),
             ("DELETE", "/api/push/subscriptions", {"endpoint": browser.endpoint})]
    for method, path, body in calls:
        r = await client.request(method, path, body)
        assert (r.status, r.error_code) == (401, "not_authenticated"), (method, path)
