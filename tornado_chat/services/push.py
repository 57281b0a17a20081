"""Web Push: browsers' subscriptions, and a push to each subscription of every member a new
message notifies while they are not online.

    send ─▶ services/messages (commit, then tell) ─▶ PushService.message_stored ─▶ queue
                                                                                     │ worker
         push service ◀── POST (aes128gcm, VAPID) ◀── encrypt ◀── one query: recipients

Only the process that stored a message pushes it, once per subscription. ``message_stored``
only appends to a bounded queue (full: the oldest message waiting is dropped and counted), so
a push never delays a send. One worker takes messages in turn, reads their recipients in one
statement (``store/push.recipients``: level, not the sender, no fresh presence row), leaves out
those with a poll open here, and starts one delivery per subscription, at most
``push_concurrency`` in flight: a push service that hangs holds those slots until its time
limit, the queue fills and drops, and sends go on as before. Each delivery encrypts the
payload (RFC 8291 ``aes128gcm``, a new key pair and salt each time) in a worker thread, signs for the endpoint's
origin (RFC 8292 VAPID, one JWT per origin kept for 12 hours) and POSTs with Tornado's
non-blocking client, never following a redirect. ``404``/``410``: the subscription is
deleted. ``429``, ``5xx``, a timeout or a refused connection: tried again after a back-off
(the push service's ``Retry-After``, else 1 s then 4 s, at most 60 s; other pushes to that
origin wait as long), at most twice; then counted as failed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import socket
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import http_ece
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_private_key
from py_vapid import Vapid02
from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.netutil import DefaultLoopResolver, Resolver

from .. import permissions, validation
from ..auth import token_hash
from ..config import Settings
from ..metrics import PushFigures
from ..models import Message, User
from ..store.database import DatabaseUnavailable
from ..store.push import PushStore, Subscription
from .presence import Presence

log = logging.getLogger(__name__)

MAX_SUBSCRIPTIONS = 10  # per user; the oldest goes
TEXT_MAX_CHARS = 120
IMAGE_TEXT = "\U0001f4f7"  # 📷
ELLIPSIS = "\u2026"
PUSH_TTL = 12 * 3600  # seconds a push service keeps a push for a browser that is off
CRYPTO_WORKERS = 1  # a thread for the encryption: the loop stays free, and one is enough at 1,000+ pushes/s
JWT_LIFETIME = 12 * 3600  # RFC 8292 allows at most 24 hours
JWT_RENEW_BEFORE = 3600  # a kept JWT is replaced when it has less than this left
MAX_RETRIES = 2
BACKOFF_FACTOR = 4.0
BACKOFF_MAX = 60.0
CONNECT_TIMEOUT = 5.0
RETRYABLE = {429, 599}  # and every 5xx; 599: Tornado's own (timeout, refused, reset)
GONE = {404, 410}
RESOLVER_CACHE_SECONDS = 60.0
RESOLVER_CACHE_SIZE = 1000  # push services' hosts: a handful in practice


class CachingResolver(Resolver):
    """Tornado's resolver asks ``getaddrinfo`` (in a thread) for every request: at hundreds of
    pushes a second to a handful of push services, that is as many DNS lookups. Each host's
    addresses are kept for a minute instead."""

    def initialize(self) -> None:  # type: ignore[override]
        self._resolver = DefaultLoopResolver()
        self._cache: dict[tuple[str, int, int], tuple[float, list[tuple[int, Any]]]] = {}

    async def resolve(
        self, host: str, port: int, family: socket.AddressFamily = socket.AF_UNSPEC
    ) -> list[tuple[int, Any]]:
        key, now = (host, port, int(family)), time.monotonic()
        kept = self._cache.get(key)
        if kept is not None and kept[0] > now:
            return kept[1]
        found = await self._resolver.resolve(host, port, family)
        if len(self._cache) > RESOLVER_CACHE_SIZE:
            self._cache.clear()
        self._cache[key] = (now + RESOLVER_CACHE_SECONDS, found)
        return found

    def close(self) -> None:
        self._resolver.close()


def origin(endpoint: str) -> str:
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc}"


class VapidKey:
    """The application server's key (RFC 8292): its public half for browsers, and the
    ``Authorization`` header for a push service, one signed JWT kept per origin."""

    def __init__(self, private_pem: str | None, subject: str) -> None:
        if private_pem is None:
            key = ec.generate_private_key(ec.SECP256R1())
        else:
            loaded = load_pem_private_key(private_pem.encode("ascii"), password=None)
            assert isinstance(loaded, ec.EllipticCurvePrivateKey)
            key = loaded
        self._vapid = Vapid02(key)
        self._subject = subject
        point = key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        self.public_key = validation.base64url(point)
        self._headers: dict[str, tuple[float, str]] = {}  # origin -> (expiry, Authorization)

    def authorization(self, audience: str) -> str:
        now = time.time()
        kept = self._headers.get(audience)
        if kept is None or kept[0] - now < JWT_RENEW_BEFORE:
            expiry = int(now) + JWT_LIFETIME
            header = self._vapid.sign({"aud": audience, "exp": expiry, "sub": self._subject})["Authorization"]
            kept = self._headers[audience] = (expiry, header)
        return kept[1]


def payload(message: Message, group_name: str, group_kind: str) -> bytes:
    """The contract's payload: a direct group is named after its other member (the sender,
    to the one who gets it); text past 120 characters is cut at 119 and ends with "…"."""
    if message.kind == "image" or message.text is None:
        text = IMAGE_TEXT
    elif len(message.text) > TEXT_MAX_CHARS:
        text = message.text[: TEXT_MAX_CHARS - 1] + ELLIPSIS
    else:
        text = message.text
    return json.dumps(
        {
            "type": "message",
            "group_id": message.group_id,
            "group_name": message.user.username if group_kind == permissions.DIRECT else group_name,
            "seq": message.seq,
            "user": {"id": message.user.id, "username": message.user.username},
            "text": text,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode("utf-8")


def encrypt(body: bytes, subscription: Subscription) -> bytes:
    """RFC 8291: aes128gcm for the browser's key and auth secret, with a key pair of our own
    made for this push (its public key travels in the header)."""
    return http_ece.encrypt(
        body,
        private_key=ec.generate_private_key(ec.SECP256R1()),
        dh=validation.base64url_decode(subscription.p256dh),
        auth_secret=validation.base64url_decode(subscription.auth),
        version="aes128gcm",
    )


@dataclass
class PushCounts:
    """What /metrics shows: pushes accepted by a push service, failed for good, messages
    dropped from a full queue, subscriptions deleted because their push service said gone."""

    sent: int = 0
    failed: int = 0
    dropped: int = 0
    gone: int = 0


class PushService:
    def __init__(self, store: PushStore, presence: Presence, settings: Settings) -> None:
        self._store = store
        self._presence = presence
        self._allowed = settings.push_endpoint_allow
        self._key = VapidKey(settings.vapid_private_key, settings.vapid_subject)
        self._queue: deque[Message] = deque()
        self._queue_size = settings.push_queue_size
        self._timeout = settings.push_timeout
        self._retry_delay = settings.push_retry_delay
        self._concurrency = settings.push_concurrency
        self._slots = asyncio.Semaphore(settings.push_concurrency)
        self._queued = asyncio.Event()
        self._paused: dict[str, float] = {}  # origin -> time.monotonic() before which it is left alone
        self._deliveries: set[asyncio.Task[None]] = set()
        self._backing_off = 0  # deliveries waiting out a back-off, holding no slot
        self._busy = False  # the worker is on a message
        self._worker: asyncio.Task[None] | None = None
        self._crypto = ThreadPoolExecutor(CRYPTO_WORKERS, thread_name_prefix="push-crypto")
        self._http: AsyncHTTPClient | None = None
        self._resolver: CachingResolver | None = None
        self.counts = PushCounts()

    @property
    def public_key(self) -> str:
        return self._key.public_key

    @property
    def queue_length(self) -> int:
        return len(self._queue)

    @property
    def idle(self) -> bool:
        """Nothing queued, being read or in flight: every message so far has had its pushes."""
        return not self._queue and not self._busy and not self._deliveries

    def figures(self) -> PushFigures:
        c = self.counts
        return PushFigures(c.sent, c.failed, c.dropped, c.gone, len(self._queue))

    # Subscriptions

    async def subscribe(self, user: User, token: str, body: dict[str, Any]) -> bool:
        """Keep a browser's subscription, made with the session of ``token`` (``400
        invalid_subscription`` unless it is well-formed and its endpoint allowed); whether it is new."""
        endpoint, p256dh, auth = validation.push_subscription(body, self._allowed)
        return await self._store.subscribe(user.id, token_hash(token), endpoint, p256dh, auth, MAX_SUBSCRIPTIONS)

    async def unsubscribe(self, user: User, body: dict[str, Any]) -> None:
        await self._store.unsubscribe(user.id, validation.push_endpoint(body.get("endpoint")))

    # Pushing

    def start(self) -> None:
        self._resolver = CachingResolver()
        self._http = AsyncHTTPClient(force_instance=True, max_clients=self._concurrency, resolver=self._resolver)
        self._worker = asyncio.get_running_loop().create_task(self._work())

    async def stop(self) -> None:
        """Stop the worker and whatever is in flight; messages still waiting are not pushed."""
        tasks = [t for t in [self._worker, *self._deliveries] if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._http is not None:
            self._http.close()
        if self._resolver is not None:
            self._resolver.close()

    def message_stored(self, message: Message) -> None:
        """A new message, just committed: queue it for the worker (never waits)."""
        if len(self._queue) >= self._queue_size:
            self._queue.popleft()
            self.counts.dropped += 1
        self._queue.append(message)
        self._queued.set()

    async def _work(self) -> None:
        while True:
            if not self._queue:
                self._queued.clear()
                await self._queued.wait()
                continue
            message = self._queue.popleft()
            self._busy = True
            try:
                await self._push(message)
            except DatabaseUnavailable:
                self.counts.dropped += 1  # logged once by storage
            except Exception:
                log.exception("pushing message %d of group %d", message.seq, message.group_id)
            finally:
                self._busy = False

    async def _push(self, message: Message) -> None:
        recipients = await self._store.recipients(
            message.group_id, message.seq, message.user.id, [u.id for u in message.mentions],
            self._presence.online_since(),
        )
        if recipients is None:
            return
        online_here = self._presence.seen_here({s.user_id for s in recipients.subscriptions})
        body = payload(message, recipients.group_name, recipients.group_kind)
        for subscription in recipients.subscriptions:
            if subscription.user_id in online_here:
                continue
            await self._slots.acquire()  # a push service that hangs stops the worker here, not the senders
            task = asyncio.get_running_loop().create_task(self._deliver(subscription, body))
            self._deliveries.add(task)
            task.add_done_callback(self._deliveries.discard)
            await asyncio.sleep(0)  # one delivery started per turn of the loop: requests interleave

    async def _deliver(self, subscription: Subscription, body: bytes) -> None:
        """Send one push, holding a slot (given back while waiting out a back-off)."""
        holding = True
        try:
            # a key agreement and AES-GCM per push: CPU work, off the event loop that serves the sends
            encrypted = await asyncio.get_running_loop().run_in_executor(self._crypto, encrypt, body, subscription)
            where = origin(subscription.endpoint)
            for attempt in range(MAX_RETRIES + 1):
                wait = self._paused.get(where, 0.0) - time.monotonic()
                if wait > 0:
                    if self._backing_off >= self._queue_size:  # bounded: past that, give up at once
                        self.counts.failed += 1
                        return
                    self._slots.release()
                    holding = False
                    self._backing_off += 1
                    try:
                        await asyncio.sleep(wait)
                    finally:
                        self._backing_off -= 1
                    await self._slots.acquire()
                    holding = True
                code, retry_after = await self._send(subscription, encrypted, where)
                if 200 <= code < 300:
                    self.counts.sent += 1
                    return
                if code in GONE:
                    self.counts.gone += 1
                    await self._store.delete(subscription.id)
                    return
                if not (code in RETRYABLE or code >= 500) or attempt == MAX_RETRIES:
                    log.warning("push to %s failed: %d", where, code)
                    self.counts.failed += 1
                    return
                delay = retry_after if retry_after is not None else self._retry_delay * BACKOFF_FACTOR ** attempt
                delay = min(BACKOFF_MAX, delay) * random.uniform(1.0, 1.2)
                self._paused[where] = max(self._paused.get(where, 0.0), time.monotonic() + delay)
        except DatabaseUnavailable:
            pass  # deleting a gone subscription: it will say gone again next time
        except Exception:
            log.exception("pushing to subscription %d", subscription.id)
            self.counts.failed += 1
        finally:
            if holding:
                self._slots.release()
            self._forget_pauses()

    async def _send(self, subscription: Subscription, encrypted: bytes, where: str) -> tuple[int, float | None]:
        assert self._http is not None
        request = HTTPRequest(
            subscription.endpoint,
            method="POST",
            body=encrypted,
            headers={
                "Authorization": self._key.authorization(where),
                "Content-Encoding": "aes128gcm",
                "Content-Type": "application/octet-stream",
                "TTL": str(PUSH_TTL),
                "Urgency": "normal",
            },
            connect_timeout=min(CONNECT_TIMEOUT, self._timeout),
            request_timeout=self._timeout,
            follow_redirects=False,
        )
        response = await self._http.fetch(request, raise_error=False)
        retry_after = response.headers.get("Retry-After") if response.headers else None
        return response.code, _seconds(retry_after)

    def _forget_pauses(self) -> None:
        now = time.monotonic()
        for where in [w for w, until in self._paused.items() if until <= now]:
            del self._paused[where]


def _seconds(retry_after: str | None) -> float | None:
    """A ``Retry-After`` in seconds (an HTTP date is taken as no advice)."""
    if retry_after is None or not retry_after.strip().isdigit():
        return None
    return float(retry_after.strip())

