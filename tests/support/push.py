"""A push service of our own, on loopback, as browsers' push services are to the application
(RFC 8030): it takes each push at ``/push/{name}``, checks its VAPID JWT (RFC 8292) against the
application's public key, decrypts its payload (RFC 8291 ``aes128gcm``) with the private key of
the browser that subscribed, and records it. It is written from the RFCs with ``cryptography``
alone, so it checks the application's libraries rather than repeating them. It can answer a
chosen status per browser, or hold every request until told to let go.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import struct
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import tornado.httpserver
import tornado.web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from .http import free_port


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _hmac(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()


@dataclass
class Browser:
    """One subscription as a browser makes it: a P-256 key pair and a 16-byte auth secret."""

    name: str
    endpoint: str
    private_key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    auth: bytes = field(default_factory=lambda: uuid.uuid4().bytes)

    @property
    def public_bytes(self) -> bytes:
        return self.private_key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)

    def subscription(self) -> dict[str, Any]:
        """``PushSubscription.toJSON()``."""
        return {"endpoint": self.endpoint, "expirationTime": None,
                "keys": {"p256dh": b64url(self.public_bytes), "auth": b64url(self.auth)}}

    def decrypt(self, body: bytes) -> bytes:
        """RFC 8291 section 3.4 and RFC 8188: one aes128gcm record, its header carrying the
        application server's public key."""
        salt, record_size, id_length = body[:16], struct.unpack("!I", body[16:20])[0], body[20]
        server_public = body[21:21 + id_length]
        ciphertext = body[21 + id_length:]
        assert id_length == 65 and len(ciphertext) <= record_size, (id_length, record_size, len(ciphertext))
        shared = self.private_key.exchange(
            ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), server_public)
        )
        prk_key = _hmac(self.auth, shared)
        ikm = _hmac(prk_key, b"WebPush: info\x00" + self.public_bytes + server_public + b"\x01")
        prk = _hmac(salt, ikm)
        cek = _hmac(prk, b"Content-Encoding: aes128gcm\x00\x01")[:16]
        nonce = _hmac(prk, b"Content-Encoding: nonce\x00\x01")[:12]
        padded = AESGCM(cek).decrypt(nonce, ciphertext, None)
        content = padded.rstrip(b"\x00")
        assert content.endswith(b"\x02"), "the last record ends with the delimiter 0x02"
        return content[:-1]


def verify_vapid(authorization: str, public_key: str, audience: str) -> dict[str, Any]:
    """RFC 8292: ``vapid t=<JWT>, k=<public key>``; the JWT is ES256, signed by the key the
    application publishes, for this push service's origin, not expired; returns its claims."""
    scheme, _, params = authorization.partition(" ")
    assert scheme.lower() == "vapid", authorization
    fields = dict(part.strip().split("=", 1) for part in params.split(","))
    assert fields["k"] == public_key, "k is the application's public key"
    header_b64, claims_b64, signature_b64 = fields["t"].split(".")
    header = json.loads(unb64url(header_b64))
    assert header["alg"] == "ES256", header
    signature = unb64url(signature_b64)
    assert len(signature) == 64
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(public_key))
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    try:
        key.verify(der, f"{header_b64}.{claims_b64}".encode("ascii"), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise AssertionError("the VAPID JWT's signature does not verify") from None
    claims = json.loads(unb64url(claims_b64))
    assert claims["aud"] == audience, claims
    assert time.time() < claims["exp"] <= time.time() + 24 * 3600, claims
    assert claims.get("sub"), claims
    return claims


@dataclass
class Push:
    """A push received, checked and decrypted."""

    browser: str
    payload: dict[str, Any]
    headers: dict[str, str]


class LocalPushService:
    def __init__(self) -> None:
        self.port = free_port()
        self.origin = f"http://127.0.0.1:{self.port}"
        self.prefix = self.origin + "/"
        self.public_key: str | None = None  # the application's, from GET /api/push
        self.browsers: dict[str, Browser] = {}
        self.answers: dict[str, list[int]] = {}  # statuses to answer a browser's pushes with, in turn
        self.pushes: list[Push] = []
        self.requests = 0
        self.errors: list[str] = []
        self.holding = False
        self.parked: list[asyncio.Future[None]] = []
        self._server: tornado.httpserver.HTTPServer | None = None

    def start(self) -> None:
        app = tornado.web.Application([(r"/push/([0-9a-f]+)", _PushHandler, {"service": self})])
        self._server = tornado.httpserver.HTTPServer(app)
        self._server.listen(self.port, "127.0.0.1")

    async def stop(self) -> None:
        self.let_go()
        if self._server is not None:
            self._server.stop()
            await self._server.close_all_connections()

    def browser(self) -> Browser:
        name = uuid.uuid4().hex
        self.browsers[name] = Browser(name, f"{self.prefix}push/{name}")
        return self.browsers[name]

    def hold(self) -> None:
        self.holding = True

    def let_go(self) -> None:
        self.holding = False
        for parked in self.parked:
            if not parked.done():
                parked.set_result(None)
        self.parked.clear()

    def to(self, browser: Browser) -> list[dict[str, Any]]:
        """The payloads pushed to ``browser``, in the order they came."""
        return [p.payload for p in self.pushes if p.browser == browser.name]

    async def wait_parked(self, count: int, limit: float = 10.0) -> None:
        """Until ``count`` requests are held (a condition, not a timing)."""
        for _ in range(int(limit / 0.02)):
            if len(self.parked) >= count:
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"{len(self.parked)} requests parked, expected {count}")


class _PushHandler(tornado.web.RequestHandler):
    def initialize(self, service: LocalPushService) -> None:
        self.service = service

    async def post(self, name: str) -> None:
        service = self.service
        service.requests += 1
        if service.holding:
            parked: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            service.parked.append(parked)
            await parked
        browser = service.browsers.get(name)
        try:
            assert browser is not None, f"no browser {name}"
            assert service.public_key is not None, "set the application's public key first"
            verify_vapid(self.request.headers["Authorization"], service.public_key, service.origin)
            assert self.request.headers["Content-Encoding"] == "aes128gcm"
            assert int(self.request.headers["TTL"]) > 0
            payload = json.loads(browser.decrypt(self.request.body))
        except (AssertionError, KeyError, ValueError) as exc:
            service.errors.append(f"{type(exc).__name__}: {exc}")
            self.set_status(400)
            return
        statuses = service.answers.get(name)
        status = statuses.pop(0) if statuses else 201
        if status == 201:
            service.pushes.append(Push(name, payload, dict(self.request.headers)))
        elif status == 429:
            self.set_header("Retry-After", "0")
        self.set_status(status)
