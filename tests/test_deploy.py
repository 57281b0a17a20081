"""The deploy files at work: the real deploy/nginx/tornado_chat.conf, run by Debian's nginx
(scripts/ensure-nginx installs it), in front of two real run.py processes sharing MySQL and Redis.

The test changes only the site file's `listen` port and its two upstream `server` addresses
(and, for HSTS, uncomments its TLS lines with a port and a certificate of the test's own);
every other directive runs as written. nginx gets a minimal main configuration of its own
(prefix, pid, logs and temporary files under the test's directory), as an operator's
/etc/nginx/nginx.conf would include the site inside `http { }`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import io
import ipaddress
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from PIL import Image
from tornado.httpclient import AsyncHTTPClient, HTTPRequest

from tornado_chat.config import PROJECT_ROOT, Settings

from .support.http import PASSWORD, Client, Response, free_port, unique
from .support.processes import ChatProcess
from .test_events import messages, quiet_cursor
from .test_images import MIB, encode, fetch, noise, opened, upload
from .test_scaleout import group_of

SITE = PROJECT_ROOT / "deploy" / "nginx" / "tornado_chat.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

# What the test substitutes in the site file: the sample deployment's port and processes.
SAMPLE_LISTEN = re.compile(r"^(\s*listen\s+)80;", re.MULTILINE)
SAMPLE_SERVERS = re.compile(r"^(\s*server\s+)127\.0\.0\.1:800[12](?=[\s;])", re.MULTILINE)
SAMPLE_TLS = re.compile(
    r"^(\s*)# listen 443 ssl http2;\n\s*# ssl_certificate\s+\S+;\n\s*# ssl_certificate_key\s+\S+;$", re.MULTILINE
)

# The access log of the test's nginx: which process answered each request, and for whom.
LOG_FORMAT = "'$request_method $uri $status $upstream_addr \"$http_authorization\"'"
LOG_LINE = re.compile(r'^(\S+) (\S+) (\d+) (\S+) "(.*)"$')


@dataclass
class TLS:
    """Where the test's nginx listens for TLS, with which certificate and key."""

    port: int
    certificate: Path
    key: Path


def site_for_test(listen_port: int, upstreams: list[str], tls: TLS | None = None) -> str:
    """The site file with its `listen 80;` on a free loopback port and its two sample
    processes replaced by ``upstreams``; with ``tls``, its commented TLS lines in use with
    the test's port and certificate; nothing else changed."""
    text = SITE.read_text()
    if tls is not None:
        lines = (f"\\g<1>listen 127.0.0.1:{tls.port} ssl http2;\n\\g<1>ssl_certificate {tls.certificate};\n"
                 f"\\g<1>ssl_certificate_key {tls.key};")
        text, found = SAMPLE_TLS.subn(lines, text)
        if found != 1:
            pytest.fail(f"{SITE} should have its TLS lines, commented: listen 443 ssl http2, ssl_certificate, "
                        f"ssl_certificate_key")
    text, listens = SAMPLE_LISTEN.subn(rf"\g<1>127.0.0.1:{listen_port};", text)
    if listens != 1:
        pytest.fail(f"{SITE} should have exactly one `listen 80;` line, found {listens}")
    if len(SAMPLE_SERVERS.findall(text)) != len(upstreams):
        pytest.fail(f"{SITE} should list the sample processes 127.0.0.1:8001 and 127.0.0.1:8002 "
                    f"as `server` lines in its upstream, one for each of the test's {len(upstreams)} processes")
    addresses = iter(upstreams)
    return SAMPLE_SERVERS.sub(lambda found: found.group(1) + next(addresses), text)


def main_config(prefix: Path, site: Path) -> str:
    # As root, nginx runs its workers as `nobody` unless told otherwise, and nobody may not
    # use the test's temporary directory (mode 0700): run them as the test's own user.
    user = "user root;" if os.geteuid() == 0 else ""
    kinds = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    temp = "\n".join(f"    {kind}_temp_path {prefix / kind};" for kind in kinds)
    return f"""\
{user}
worker_processes 1;
pid {prefix / "nginx.pid"};
error_log {prefix / "error.log"} notice;
events {{
    worker_connections 256;
}}
http {{
    log_format deploy_test {LOG_FORMAT};
    access_log {prefix / "access.log"} deploy_test;
{temp}
    include {site};
}}
"""


@dataclass
class Nginx:
    process: subprocess.Popen[bytes]
    base_url: str
    prefix: Path

    def log(self) -> list[tuple[str, str, int, str, str]]:
        """(method, path, status, process address, Authorization) for each request answered."""
        rows = []
        for line in (self.prefix / "access.log").read_text().splitlines():
            found = LOG_LINE.match(line)
            assert found, f"unexpected access log line {line!r}"
            method, path, status, upstream, authorization = found.groups()
            rows.append((method, path, int(status), upstream, authorization))
        return rows

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # graceful: finish what is open, then exit
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def nginx(tmp_path: Path) -> Iterator[Callable[..., Nginx]]:
    """Start Debian's nginx (not as a daemon) with the deploy site in front of the given processes."""
    started: list[Nginx] = []
    if not os.access(NGINX, os.X_OK):
        pytest.fail("nginx is not installed: run scripts/ensure-nginx (Debian: apt-get install nginx)")

    def start(processes: list[ChatProcess], tls: TLS | None = None) -> Nginx:
        prefix = tmp_path / "nginx"
        prefix.mkdir()
        port = free_port()
        site = prefix / "tornado_chat.conf"
        site.write_text(site_for_test(port, [p.base_url.removeprefix("http://") for p in processes], tls))
        conf = prefix / "nginx.conf"
        conf.write_text(main_config(prefix, site))
        stderr = (prefix / "stderr.log").open("wb")
        process = subprocess.Popen(
            [NGINX, "-e", str(prefix / "error.log"), "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"],
            stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr,
        )
        stderr.close()  # nginx has its own copy
        proxy = Nginx(process, f"http://127.0.0.1:{port}", prefix)
        started.append(proxy)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if process.poll() is not None:
                break
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                return proxy
            time.sleep(0.05)
        logs = "".join(p.read_text() for p in (prefix / "stderr.log", prefix / "error.log") if p.exists())
        pytest.fail(f"nginx did not start with {SITE}:\n{logs[-3000:]}")

    yield start
    for proxy in started:
        proxy.stop()


@pytest.fixture
async def http() -> AsyncIterator[AsyncHTTPClient]:
    client = AsyncHTTPClient(force_instance=True, max_clients=50)
    yield client
    client.close()


def loopback_addresses(count: int) -> list[str]:
    """Distinct addresses of 127.0.0.0/8 other than 127.0.0.1, fresh for each run: clients
    connect from them, so nginx sees them as the clients' addresses."""
    chosen: set[str] = set()
    while len(chosen) < count:
        chosen.add(f"127.{random.randrange(1, 255)}.{random.randrange(0, 256)}.{random.randrange(1, 255)}")
    return sorted(chosen)


async def sign_in_from(http: AsyncHTTPClient, base_url: str, address: str, username: str,
                       headers: dict[str, str] | None = None) -> Response:
    """POST /api/session over a connection made from ``address``."""
    response = await http.fetch(
        HTTPRequest(base_url + "/api/session", method="POST", network_interface=address,
                    body=json.dumps({"username": username, "password": "not the password"}),
                    headers={"Content-Type": "application/json", **(headers or {})}),
        raise_error=False,
    )
    if response.code == 599:
        raise response.error or RuntimeError("request failed")
    return Response(response.code, response.headers, response.body or b"")


def test_the_nginx_site_outlasts_the_longest_poll_and_takes_the_largest_upload() -> None:
    """What the end-to-end test cannot wait for: a 60 s poll and a 10 MiB image."""
    text = SITE.read_text()
    events = re.search(r"location = /api/events \{(.*?)\}", text, re.DOTALL)
    assert events, "no `location = /api/events` block"
    read_timeout = re.search(r"^\s*proxy_read_timeout\s+(\d+)s;", events.group(1), re.MULTILINE)
    assert read_timeout and int(read_timeout.group(1)) > 60  # the contract's longest poll
    assert re.search(r"^\s*proxy_buffering\s+off;", events.group(1), re.MULTILINE)
    body = re.search(r"^\s*client_max_body_size\s+(\d+)m;", text, re.MULTILINE)
    assert body and int(body.group(1)) * MIB > 10 * MIB  # 10 MiB of image plus the multipart envelope


def self_signed(directory: Path) -> TLS:
    """A certificate for 127.0.0.1, valid for a day, and its key; on a free port."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256())
    )
    tls = TLS(free_port(), directory / "tls.pem", directory / "tls.key")
    tls.certificate.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    tls.key.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return tls


async def test_the_nginx_site_sends_hsts_over_tls_only(
    chat_processes: Callable[..., ChatProcess], nginx: Callable[..., Nginx], http: AsyncHTTPClient, tmp_path: Path,
) -> None:
    """Strict-Transport-Security on every answer over https, nginx's own errors too, never
    over plain http (a browser ignores it there, and RFC 6797 forbids sending it)."""
    chat = chat_processes()
    tls = self_signed(tmp_path)
    proxy = nginx([chat, chat], tls)
    over_tls = f"https://127.0.0.1:{tls.port}"
    for path, status in (("/login", 200), ("/api/me", 401), ("/static/app.css", 200), ("/no/such/page", 404)):
        r = await http.fetch(HTTPRequest(over_tls + path, ca_certs=str(tls.certificate)), raise_error=False)
        assert r.code == status, (path, r.code, r.error)
        assert r.headers.get_list("Strict-Transport-Security") == ["max-age=63072000; includeSubDomains"], path
        assert "preload" not in r.headers["Strict-Transport-Security"]
        plain = await http.fetch(proxy.base_url + path, raise_error=False)
        assert plain.code == status
        assert "Strict-Transport-Security" not in plain.headers, path
    chat.process.kill()
    chat.process.wait()
    down = await http.fetch(HTTPRequest(over_tls + "/login", ca_certs=str(tls.certificate)), raise_error=False)
    assert down.code == 502  # nginx's own error page: `always` puts HSTS on it too
    assert down.headers["Strict-Transport-Security"] == "max-age=63072000; includeSubDomains"


async def test_nginx_with_the_deploy_site_carries_polls_uploads_and_client_addresses_to_two_processes(
    chat_processes: Callable[..., ChatProcess], redis_url: str, nginx: Callable[[list[ChatProcess]], Nginx],
    http: AsyncHTTPClient,
) -> None:
    processes = [chat_processes("--redis-url", redis_url, "--xheaders") for _ in range(2)]
    proxy = nginx(processes)
    client = Client(proxy.base_url, http)

    # Sign-up, groups, membership, all through nginx.
    (ana, bob), group = await group_of(client, 2)

    # A long poll parked in nginx is answered as soon as a message is sent.
    cursor = await quiet_cursor(client, bob)
    waiting = asyncio.create_task(client.poll(bob, cursor, timeout=60))
    await asyncio.sleep(0.3)
    assert not waiting.done()
    sent = await client.send(ana, group["id"], "through nginx")
    assert sent.status == 201, sent.body
    answer = await asyncio.wait_for(waiting, 20)  # far sooner than the poll's own 60 s
    assert answer.status == 200, answer.body
    assert messages(answer.json["events"]) == [sent.json["message"]]
    cursor = answer.json["cursor"]

    # An image over nginx's default 1 MiB body limit goes up; it and its thumbnail come back.
    data = encode(noise((1000, 1000)), "PNG")
    assert len(data) > 2 * MIB
    uploaded = await upload(client, ana, group["id"], data, filename="noise.png", part_type="image/png")
    assert uploaded.status == 201, uploaded.body
    image = uploaded.json["message"]["image"]
    full = await fetch(client, bob, image["url"])
    assert (full.status, full.headers["Content-Type"]) == (200, "image/png")
    assert opened(full.body, "PNG").size == (1000, 1000)
    thumb = await fetch(client, bob, image["thumb_url"])
    assert thumb.status == 200
    assert max(Image.open(io.BytesIO(thumb.body)).size) <= 512
    answer = await client.poll(bob, cursor, timeout=10)
    assert [m["id"] for m in messages(answer.json["events"])] == [uploaded.json["message"]["id"]]

    # The processes see each client's own address (X-Real-IP / X-Forwarded-For), not nginx's,
    # and not one a client forges: failed sign-ins are counted per address, 100 allowed and
    # the 101st starts a pause, so 101 failures from one address (each claiming another in
    # X-Forwarded-For and X-Real-IP) pause that address while another address may still try.
    here, elsewhere = loopback_addresses(2)
    for i in range(Settings.login_failures_per_address + 1):
        forged = f"198.51.{100 + i // 250}.{i % 250 + 1}"
        failed = await sign_in_from(http, proxy.base_url, here, unique("nobody"),
                                    {"X-Forwarded-For": forged, "X-Real-IP": forged})
        assert (failed.status, failed.error_code) == (401, "invalid_credentials"), failed.body
    paused = await sign_in_from(http, proxy.base_url, here, unique("nobody"), {"X-Forwarded-For": "198.51.100.99"})
    assert (paused.status, paused.error_code) == (429, "too_many_attempts")
    other = await sign_in_from(http, proxy.base_url, elsewhere, unique("nobody"))
    assert (other.status, other.error_code) == (401, "invalid_credentials")

    # The scheme is nginx's ($scheme, plain http here), not one a client claims: the session
    # cookie is marked Secure only for https, and a cookie session works through nginx.
    claims_https = {"X-Scheme": "https", "X-Forwarded-Proto": "https"}
    browser = Client(proxy.base_url, http, cookies={}, default_headers=claims_https)
    carol = unique("carol")[:32]
    registered = await browser.request("POST", "/api/users", {"username": carol, "password": PASSWORD})
    assert registered.status == 201, registered.body
    jar: SimpleCookie = SimpleCookie()
    for header in registered.headers.get_list("Set-Cookie"):
        jar.load(header)
    assert "chat_session" in jar and not jar["chat_session"]["secure"]
    me = await browser.request("GET", "/api/me")
    assert me.json["user"]["username"] == carol

    # Sticky by user: every request carrying bob's token went to one process; requests
    # without a session (sign-up, sign-in) went to both.
    log = proxy.log()
    bobs = {upstream for _, _, _, upstream, authorization in log if authorization == f"Bearer {bob.token}"}
    assert len(bobs) == 1, bobs
    anonymous = {upstream for _, path, _, upstream, authorization in log
                 if authorization == "-" and path in ("/api/users", "/api/session")}
    assert anonymous == {p.base_url.removeprefix("http://") for p in processes}
