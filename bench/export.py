#!/usr/bin/env python3
"""Your data's export: how long ``GET /api/me/export`` takes for a user with many messages and
images, and how much memory the server takes meanwhile.

Why: the export reads everything a user ever sent, images included, and must neither hold it
all in memory nor stall the event loop that answers every long poll. The zip is made while it
is sent (a page of messages or one image at a time, compressed in a worker thread), so the
server's memory should grow by about one image and one page, whatever the user's size.

How: the same set-up as send_to_receive.py (a private MariaDB, ``run.py`` as its own process).
One user sends ``--messages`` texts and ``--images`` photos (random-noise JPEGs, so each is
really about ``--image-kb`` KiB after the server re-encodes it) into a group; then the export
is downloaded once, streamed, while the server's resident memory is sampled every 20 ms from
``/proc``. The download is checked: a valid zip with every message and every image.

Run from the repository root: ``python bench/export.py [--messages N] [--images N]``.
Output: one JSON object on a line, then a table.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import random
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from image_upload import UploadConnection, multipart  # noqa: E402
from PIL import Image  # noqa: E402
from send_to_receive import (  # noqa: E402
    BenchError,
    Connection,
    add_common_arguments,
    common_fields,
    register,
    run_against_one_server,
    wait_healthy,
)
from tornado.httpclient import AsyncHTTPClient, HTTPRequest  # noqa: E402

SCENARIO = "export"
SENDERS = 8  # connections sending the messages at once
SAMPLE_INTERVAL = 0.020


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise BenchError("no VmRSS in /proc")


def noise_jpeg(kib: int, seed: int) -> bytes:
    """A JPEG of random pixels of about ``kib`` KiB (noise does not compress)."""
    side = int((kib * 1024 / 1.2) ** 0.5)
    pixels = random.Random(seed).randbytes(side * side * 3)
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), pixels).save(out, "JPEG", quality=90)
    return out.getvalue()


async def fill(port: int, messages: int, images: int, image_kib: int) -> tuple[Connection, int]:
    """The user, their group, their messages and images; the user's connection and group id."""
    user = await register(port, f"exporter{random.randrange(10**9)}")
    group = (await user.request("POST", "/api/groups", {"name": f"export {time.time()}"}, expect=201))["group"]
    senders = [user]
    for _ in range(SENDERS - 1):
        conn = await Connection.open(port)
        conn.token = user.token
        senders.append(conn)

    async def send(conn: Connection, numbers: range) -> None:
        for n in numbers:
            text = f"message {n}: " + "lorem ipsum dolor sit amet " * 4
            await conn.request("POST", f"/api/groups/{group['id']}/messages", {"text": text}, expect=201)

    share = -(-messages // SENDERS)
    await asyncio.gather(*(send(c, range(i * share, min(messages, (i + 1) * share))) for i, c in enumerate(senders)))
    uploader = await UploadConnection.open(port)
    uploader.token = user.token
    for n in range(images):
        body, content_type = multipart(noise_jpeg(image_kib, n), f"img-{n}")
        await uploader.upload(f"/api/groups/{group['id']}/images", body, content_type)
    for conn in senders[1:]:
        conn.close()
    uploader.close()
    return user, group["id"]


async def bench(server: subprocess.Popen[bytes], port: int, args: argparse.Namespace) -> dict[str, Any]:
    await wait_healthy(server, port)
    t_fill = time.monotonic()
    user, _ = await fill(port, args.messages, args.images, args.image_kb)
    fill_s = time.monotonic() - t_fill
    await asyncio.sleep(1.0)  # let the server settle after the uploads
    baseline = rss_kib(server.pid)
    samples: list[int] = []
    received = bytearray()
    done = asyncio.Event()

    async def sample() -> None:
        while not done.is_set():
            samples.append(rss_kib(server.pid))
            await asyncio.sleep(SAMPLE_INTERVAL)

    sampler = asyncio.create_task(sample())
    t0 = time.monotonic()
    request = HTTPRequest(
        f"http://127.0.0.1:{port}/api/me/export", headers={"Authorization": f"Bearer {user.token}"},
        streaming_callback=received.extend, request_timeout=600,
    )
    response = await AsyncHTTPClient().fetch(request, raise_error=False)
    elapsed = time.monotonic() - t0
    done.set()
    await sampler
    if response.code != 200:
        raise BenchError(f"export answered {response.code}")
    archive = zipfile.ZipFile(io.BytesIO(bytes(received)))
    exported = json.loads(archive.read("messages.json"))
    images = [n for n in archive.namelist() if n.startswith("images/")]
    if len(exported) != args.messages + args.images or len(images) != args.images:
        raise BenchError(f"the export holds {len(exported)} messages and {len(images)} images")
    image_bytes = sum(archive.getinfo(n).file_size for n in images)
    return {
        "scenario": SCENARIO,
        "messages": args.messages,
        "images": args.images,
        "image_bytes": image_bytes,
        "zip_bytes": len(received),
        "export_s": elapsed,
        "export_mb_per_s": len(received) / elapsed / 1e6,
        "server_rss_before_mib": baseline / 1024,
        "server_rss_peak_mib": max(samples) / 1024,
        "server_rss_growth_mib": (max(samples) - baseline) / 1024,
        "fill_s": fill_s,
        **common_fields(),
    }


def table(result: dict[str, Any]) -> str:
    return "\n".join([
        f"export of {result['messages']:,} messages and {result['images']} images "
        f"({result['image_bytes'] / 2**20:.0f} MiB of images), one download:",
        f"  zip                        {result['zip_bytes'] / 2**20:8.1f} MiB",
        f"  time                       {result['export_s']:8.2f} s ({result['export_mb_per_s']:.1f} MB/s)",
        f"  server RSS before          {result['server_rss_before_mib']:8.1f} MiB",
        f"  server RSS peak            {result['server_rss_peak_mib']:8.1f} MiB "
        f"(+{result['server_rss_growth_mib']:.1f} MiB)",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000, help="text messages the user sent (default 10,000)")
    parser.add_argument("--images", type=int, default=100, help="images the user sent (default 100)")
    parser.add_argument("--image-kb", type=int, default=1024, help="about how big each image is (default 1024)")
    add_common_arguments(parser)
    args = parser.parse_args(argv)
    return run_against_one_server(SCENARIO, args, lambda server, port: bench(server, port, args), table)


if __name__ == "__main__":
    sys.exit(main())
