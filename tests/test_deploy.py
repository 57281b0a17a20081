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


# --- Three machines (deploy/README.md, "Three machines, no single point of failure") -------

GALERA_OPTIONS = PROJECT_ROOT / "deploy" / "galera" / "60-tornado_chat-galera.cnf"
THREE_MACHINE_UPSTREAM = PROJECT_ROOT / "deploy" / "nginx" / "upstream-three-machines.conf"
REDIS_LINES = PROJECT_ROOT / "deploy" / "redis" / "redis.conf"
SENTINEL_LINES = PROJECT_ROOT / "deploy" / "redis" / "sentinel.conf"
SITE_UPSTREAM = re.compile(r"^upstream tornado_chat \{.*?^\}\n", re.MULTILINE | re.DOTALL)
CREATE_TABLE = re.compile(r"\bCREATE\s+(?:TEMPORARY\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?`?(\w+)`?\s*\(", re.IGNORECASE)


def create_tables(sql: str) -> dict[str, str]:
    """Each CREATE TABLE of ``sql``: the table's name and what its parentheses hold."""
    tables = {}
    for found in CREATE_TABLE.finditer(sql):
        depth, end = 1, found.end()
        while depth:
            depth += {"(": 1, ")": -1}.get(sql[end], 0)
            end += 1
        tables[found.group(1)] = sql[found.end():end - 1]
    return tables


def test_every_table_has_a_primary_key_as_galera_needs() -> None:
    """Galera certifies and applies rows by their primary key: a table without one replicates
    badly (every row a full scan on every node) or, with wsrep_mode=REQUIRED_PRIMARY_KEY as the
    deploy option file sets it, cannot even be created. So schema.sql, every migration and the
    migrations' own bookkeeping table each give every table a primary key, and none drops one."""
    from tornado_chat.store import migrate

    sources = {"schema.sql": (PROJECT_ROOT / "schema.sql").read_text(),
               "migrate.py": migrate._CREATE_SCHEMA_MIGRATIONS}
    sources |= {f"migrations/{p.name}": p.read_text() for p in sorted((PROJECT_ROOT / "migrations").glob("*.sql"))}
    seen = {}
    for source, sql in sources.items():
        assert not re.search(r"\bDROP\s+PRIMARY\s+KEY\b", sql, re.IGNORECASE), source
        for table, body in create_tables(sql).items():
            seen[f"{source}: {table}"] = body
    assert len([name for name in seen if name.startswith("schema.sql")]) >= 12, sorted(seen)
    without = [name for name, body in seen.items() if not re.search(r"\bPRIMARY\s+KEY\b", body, re.IGNORECASE)]
    assert not without, f"tables without a primary key: {without}"


def test_the_galera_option_file_is_accepted_by_mariadbd() -> None:
    """mariadbd reads the option file as a node would (an unknown or misspelt option, or a bad
    value, makes it refuse) and takes the settings the README promises."""
    mariadbd = shutil.which("mariadbd") or shutil.which("mariadbd", path="/usr/sbin:/usr/local/sbin")
    if not mariadbd:
        pytest.skip("no mariadbd here (scripts/ensure-db-server installs MariaDB)")
    result = subprocess.run([mariadbd, f"--defaults-file={GALERA_OPTIONS}", "--verbose", "--help"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    values = dict(re.findall(r"^([a-z][a-z0-9-]*)[ \t]+(\S.*?)[ \t]*$", result.stdout, re.MULTILINE))
    assert values["wsrep-on"] == "TRUE"
    assert values["wsrep-provider"] == "/usr/lib/galera/libgalera_smm.so"
    assert values["binlog-format"] == "ROW"
    assert values["innodb-autoinc-lock-mode"] == "2"
    assert values["innodb-flush-log-at-trx-commit"] == "1"
    assert values["max-allowed-packet"] == str(64 * MIB)
    assert (values["innodb-ft-min-token-size"], values["innodb-ft-enable-stopword"]) == ("1", "FALSE")
    assert set(values["wsrep-mode"].split(",")) >= {"REQUIRED_PRIMARY_KEY"}
    assert values["wsrep-sync-wait"] == "0"
    assert values["wsrep-cluster-address"] == "gcomm://10.0.0.1,10.0.0.2,10.0.0.3"


def test_the_three_machine_upstream_replaces_the_sites_own_and_nginx_accepts_it(tmp_path: Path) -> None:
    """What deploy/README.md tells a three-machine site to do: the site file with its upstream
    block swapped for an include of upstream-three-machines.conf, checked by `nginx -t`, and the
    same stickiness as one machine's."""
    if not os.access(NGINX, os.X_OK):
        pytest.fail("nginx is not installed: run scripts/ensure-nginx (Debian: apt-get install nginx)")
    site_text = SITE.read_text()
    own = SITE_UPSTREAM.search(site_text)
    assert own, f"{SITE} should have one `upstream tornado_chat {{ ... }}` block starting a line"
    upstream_text = THREE_MACHINE_UPSTREAM.read_text()
    hash_line = re.compile(r"^\s*hash .*;$", re.MULTILINE)
    assert hash_line.findall(own.group(0)) == hash_line.findall(upstream_text)
    assert re.search(r"^\s*keepalive \d+;", upstream_text, re.MULTILINE)
    assert "backup" not in re.sub(r"#.*", "", upstream_text)  # nginx refuses `backup` with `hash`
    site = tmp_path / "tornado_chat.conf"
    text = SITE_UPSTREAM.sub(lambda _: f"include {THREE_MACHINE_UPSTREAM};\n", site_text, count=1)
    site.write_text(SAMPLE_LISTEN.sub(rf"\g<1>127.0.0.1:{free_port()};", text))
    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp_path / kind).mkdir()
    conf = tmp_path / "nginx.conf"
    conf.write_text(main_config(tmp_path, site))
    result = subprocess.run([NGINX, "-t", "-e", str(tmp_path / "error.log"), "-p", str(tmp_path), "-c", str(conf)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr


def redis_with(tmp_path: Path, lines: Path, *args: str) -> Iterator[int]:
    """A redis-server (or, with --sentinel, a Sentinel) run from ``lines`` as written, with only
    its listening address, port and directory overridden on the command line; its port."""
    server = shutil.which("redis-server")
    if not server:
        pytest.fail("redis-server is not installed: run scripts/ensure-redis")
    conf = tmp_path / lines.name
    conf.write_text(lines.read_text())  # a Sentinel rewrites its file: a copy
    port = free_port()
    process = subprocess.Popen([server, str(conf), *args, "--bind", "127.0.0.1", "--port", str(port),
                                "--dir", str(tmp_path), "--daemonize", "no", "--logfile", str(tmp_path / "log")],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            if process.poll() is not None or time.monotonic() > deadline:
                log = (tmp_path / "log").read_text() if (tmp_path / "log").exists() else ""
                pytest.fail(f"redis-server did not start with {lines}:\n{log[-2000:]}")
            time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_redis_lines_turn_persistence_off(tmp_path: Path) -> None:
    import redis

    for port in redis_with(tmp_path, REDIS_LINES):
        client = redis.Redis(port=port, decode_responses=True)
        try:
            assert client.config_get("save") == {"save": ""}
            assert client.config_get("appendonly") == {"appendonly": "no"}
            assert client.info("replication")["role"] == "master"  # replicaof only where added
        finally:
            client.close()


def test_the_sentinel_lines_monitor_chat_with_quorum_2(tmp_path: Path) -> None:
    import redis

    for port in redis_with(tmp_path, SENTINEL_LINES, "--sentinel"):
        client = redis.Redis(port=port, decode_responses=True)
        try:
            master = client.execute_command("SENTINEL", "MASTER", "chat")
        finally:
            client.close()
        fields = dict(zip(master[::2], master[1::2], strict=True)) if isinstance(master, list) else master
        assert (fields["ip"], str(fields["port"]), str(fields["quorum"])) == ("10.0.0.1", "6379", "2")
        assert str(fields["down-after-milliseconds"]) == "5000"
        assert str(fields["failover-timeout"]) == "60000"
        assert str(fields["parallel-syncs"]) == "1"
