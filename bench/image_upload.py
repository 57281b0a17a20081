#!/usr/bin/env python3
"""Image upload: how long a ~5 MB photo takes to be accepted, and whether the server keeps answering meanwhile.

Why: an image upload is the heaviest request the chat takes: a body of megabytes
streamed in, a Pillow decode, re-encode and thumbnail, and a multi-megabyte
INSERT. The sender waits for all of it, so its time is what a person posting a
photo feels; and all of it happens in the one process that also answers every
long poll, so what matters as much is that the event loop keeps answering other
requests while images are being processed (the Pillow work runs in an executor).

How: the same setup as send_to_receive.py, whose helpers this imports: a private
MariaDB (or a throwaway database on --database-url), ``run.py`` as its own
process, users A and B in a fresh group, one keep-alive HTTP/1.1 connection per
user. The image is a JPEG of random-noise pixels (seeded), so that it really is
~5 MB and its re-encoding is real work. B keeps a long poll parked on the group
all along (send_to_receive's Receiver), and a prober sends ``GET /healthz`` every
10 ms, each probe on a free keep-alive connection of its own pool, so that a slow
answer does not hold back the next probe; a probe's latency is counted from the
moment it was due, so a stall of the server shows in every probe it delays.

1. warm-up: a few uploads, not counted;
2. baseline: BASELINE seconds of probes, B's poll parked, no uploads;
3. uploads: N uploads one at a time, each ``POST /api/groups/{id}/images`` with
   a multipart body; t0 just before the request is written, t1 when the 201 has
   been read; B's poll must bring each message (matched by client_id) before the
   next upload. The probes answered during this phase are reported beside the
   baseline's.

At the end B must have received every image message exactly once, in seq order.

Run from the repository root: ``python bench/image_upload.py [--uploads N]``.
Output: one JSON object on a line, then a table.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import logging
import platform
import random
import secrets
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import PIL  # noqa: E402
import tornado  # noqa: E402
from PIL import Image  # noqa: E402
from send_to_receive import (  # noqa: E402
    BenchError,
    Connection,
    Receiver,
    add_common_arguments,
    check_delivery,
    milliseconds,
    register,
    run_against_one_server,
    wait_healthy,
)

log = logging.getLogger("bench")

SCENARIO = "image_upload"
WARMUP_UPLOADS = 3
IMAGE_SIZE = (2400, 1800)  # random pixels at JPEG quality 95: about 5.1 MB
JPEG_QUALITY = 95
PROBE_INTERVAL = 0.010  # seconds between health probes
UPLOAD_TIMEOUT = 60.0


class UploadConnection(Connection):
    """A keep-alive connection that can also send a multipart body. (Connection.request sends
    only JSON bodies; its answer-reading is inline, so the few lines of it are repeated here.)"""

    async def upload(self, path: str, body: bytes, content_type: str, expect: int = 201) -> dict[str, Any]:
        head = [
            f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{self._port}", f"Content-Type: {content_type}",
            f"Content-Length: {len(body)}", f"Authorization: Bearer {self.token}",
        ]
        self._writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
        self._writer.write(body)
        try:
            await self._writer.drain()
            head_text = (await self._reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            status_line, *header_lines = head_text.rstrip("\r\n").split("\r\n")
            headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in header_lines)}
            data = await self._reader.readexactly(int(headers.get("content-length", "0")))
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            raise BenchError(f"POST {path}: connection lost: {exc!r}") from exc
        status = int(status_line.split()[1])
        if status != expect:
            raise BenchError(f"POST {path}: expected {expect}, got {status}: {data[:300].decode(errors='replace')}")
        return json.loads(data)


def noise_jpeg() -> bytes:
    width, height = IMAGE_SIZE
    pixels = random.Random(20261124).randbytes(width * height * 3)
    out = io.BytesIO()
    Image.frombytes("RGB", IMAGE_SIZE, pixels).save(out, "JPEG", quality=JPEG_QUALITY)
    return out.getvalue()


def multipart(image: bytes, client_id: str) -> tuple[bytes, str]:
    boundary = f"bench{uuid.uuid4().hex}"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="client_id"\r\n\r\n{client_id}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="noise.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode() + image + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


class HealthProber:
    """GET /healthz every PROBE_INTERVAL; each sample is (time the probe was due, latency from then)."""

    def __init__(self, port: int) -> None:
        self._port = port
        self._idle: list[Connection] = []
        self._open: list[Connection] = []
        self._stop = asyncio.Event()
        self._probes: set[asyncio.Task[None]] = set()
        self.samples: list[tuple[float, float]] = []
        self.failures: list[str] = []

    async def _probe(self, due: float) -> None:
        try:
            if self._idle:
                conn = self._idle.pop()
            else:
                conn = await Connection.open(self._port)
                self._open.append(conn)
            await conn.request("GET", "/healthz")
            self.samples.append((due, time.perf_counter() - due))
            self._idle.append(conn)
        except (OSError, BenchError) as exc:
            self.failures.append(repr(exc))

    async def run(self) -> None:
        due = time.perf_counter()
        while not self._stop.is_set():
            task = asyncio.create_task(self._probe(due))
            self._probes.add(task)
            task.add_done_callback(self._probes.discard)
            due += PROBE_INTERVAL
            await asyncio.sleep(max(0.0, due - time.perf_counter()))

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.gather(*self._probes)
        for conn in self._open:
            conn.close()

    def between(self, start: float, end: float) -> list[float]:
        return [latency for due, latency in self.samples if start <= due < end]


async def measure(port: int, count: int, baseline: float) -> dict[str, Any]:
    run = secrets.token_hex(4)
    alice = await register(port, f"bench_a_{run}")
    bob = await register(port, f"bench_b_{run}")
    uploader = await UploadConnection.open(port)  # A's second connection, as a page's upload would be
    uploader.token = alice.token
    image = noise_jpeg()
    prober = HealthProber(port)
    probing: asyncio.Task[None] | None = None
    receiver: Receiver | None = None
    try:
        group_id = (await alice.request("POST", "/api/groups", {"name": f"bench {run}"}, expect=201))["group"]["id"]
        await bob.request("PUT", f"/api/groups/{group_id}/membership")
        receiver = Receiver(bob, group_id, (await bob.request("GET", "/api/events"))["cursor"])
        sent: list[dict[str, Any]] = []
        upload_times: list[float] = []
        delivery_times: list[float] = []

        async def upload(i: int) -> tuple[float, float]:
            assert receiver is not None
            client_id = f"{run}-{i}"
            body, content_type = multipart(image, client_id)
            await receiver.park()
            t0 = time.perf_counter()
            async with asyncio.timeout(UPLOAD_TIMEOUT):
                answer = await uploader.upload(f"/api/groups/{group_id}/images", body, content_type)
            t1 = time.perf_counter()
            received_at = await receiver.wait_for(client_id)
            sent.append(answer["message"])
            return t1 - t0, received_at - t0

        for i in range(WARMUP_UPLOADS):
            await upload(i)
        log.info("warm-up done; %g s of health probes without uploads", baseline)
        await receiver.park()
        probing = asyncio.create_task(prober.run())
        baseline_start = time.perf_counter()
        await asyncio.sleep(baseline)
        baseline_end = time.perf_counter()
        log.info("uploading %d images of %.2f MB, one at a time", count, len(image) / 1e6)
        uploads_start = time.perf_counter()
        for i in range(WARMUP_UPLOADS, WARMUP_UPLOADS + count):
            took, delivered = await upload(i)
            upload_times.append(took)
            delivery_times.append(delivered)
        uploads_end = time.perf_counter()
        await prober.stop()
        await probing
        if prober.failures:
            raise BenchError(f"{len(prober.failures)} health probes failed, e.g. {prober.failures[0]}")
        await receiver.drain()
        check_delivery(sent, receiver.received)
        return {
            "uploads": upload_times,
            "deliveries": delivery_times,
            "health_idle": prober.between(baseline_start, baseline_end),
            "health_uploading": prober.between(uploads_start, uploads_end),
            "image_bytes": len(image),
        }
    finally:
        if probing is not None and not probing.done():
            await prober.stop()
        if receiver is not None:
            receiver.close()
        uploader.close()
        alice.close()
        bob.close()


async def bench(server: subprocess.Popen[bytes], port: int, count: int, baseline: float) -> dict[str, Any]:
    await wait_healthy(server, port)
    log.info("server healthy")
    return await measure(port, count, baseline)


def health_figures(latencies: list[float]) -> dict[str, float]:
    figures = milliseconds(latencies)
    return {"n": len(latencies), **{k: round(figures[k], 3) for k in ("median_ms", "p99_ms", "max_ms")}}


def report(measured: dict[str, Any]) -> dict[str, Any]:
    uploads = milliseconds(measured["uploads"])
    return {
        "scenario": SCENARIO,
        "n": len(measured["uploads"]),
        "image_bytes": measured["image_bytes"],
        "image_pixels": f"{IMAGE_SIZE[0]}x{IMAGE_SIZE[1]}",
        **{k: round(uploads[k], 3) for k in ("median_ms", "p90_ms", "min_ms", "max_ms")},
        "delivery_median_ms": round(statistics.median(measured["deliveries"]) * 1000, 3),
        "health_idle": health_figures(measured["health_idle"]),
        "health_uploading": health_figures(measured["health_uploading"]),
        "date": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "python": platform.python_version(),
        "tornado": tornado.version,
        "pillow": PIL.__version__,
    }


def table(result: dict[str, Any]) -> str:
    title = (f"upload of a {result['image_bytes'] / 1e6:.2f} MB JPEG ({result['image_pixels']}, noise) -> 201, "
             f"{result['n']} uploads, one at a time")
    rows = [(name, result[f"{name}_ms"]) for name in ("median", "p90", "min", "max")]
    rows.append(("upload -> B's poll, median", result["delivery_median_ms"]))
    lines = [title, *(f"  {name:<28}{value:>9.2f} ms" for name, value in rows)]
    idle, busy = result["health_idle"], result["health_uploading"]
    lines += [
        f"GET /healthz every {PROBE_INTERVAL * 1000:g} ms    {'no uploads':>12}{'uploading':>12}",
        f"  {'probes':<28}{idle['n']:>12}{busy['n']:>12}",
        *(f"  {label:<28}{idle[key]:>9.2f} ms{busy[key]:>9.2f} ms"
          for label, key in (("median", "median_ms"), ("p99", "p99_ms"), ("max", "max_ms"))),
    ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=20, help="uploads measured, after the warm-up (default 20)")
    parser.add_argument("--baseline", type=float, default=3.0,
                        help="seconds of health probes without uploads (default 3)")
    add_common_arguments(parser)
    args = parser.parse_args(argv)
    if args.uploads < 2:
        parser.error("--uploads must be at least 2")
    if args.baseline < 0.1:
        parser.error("--baseline must be at least 0.1 s")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    async def measure(server: subprocess.Popen[bytes], port: int) -> dict[str, Any]:
        return report(await bench(server, port, args.uploads, args.baseline))

    return run_against_one_server(SCENARIO, args, measure, table)


if __name__ == "__main__":
    sys.exit(main())
