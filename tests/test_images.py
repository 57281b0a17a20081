"""Image messages: formats told by content, limits, clean re-encoding, thumbnails, idempotency, serving."""

from __future__ import annotations

import asyncio
import io
import random
import re
import secrets
import struct
import uuid
import zlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

import pytest
from PIL import ExifTags, Image, ImageDraw, PngImagePlugin

from .support.database import query
from .support.http import Account, Client, Response
from .support.servers import Server

MIB = 1024 * 1024
CONTENT_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}
MESSAGE_KEYS = {"id", "group_id", "seq", "user", "kind", "text", "image", "created_at", "client_id",
                "version", "edited_at", "deleted", "reply_to", "reactions", "mentions"}
SECRET = "s3cr3t-Mallory-1234"
RED, GREEN, BLUE, YELLOW = (255, 0, 0), (0, 160, 0), (0, 0, 255), (255, 255, 0)


# Making images and uploads


def encode(image: Image.Image, fmt: str, **params: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def quadrants(size: tuple[int, int] = (120, 80)) -> Image.Image:
    """Red, green / blue, yellow quadrants: content whose placement can be checked."""
    width, height = size
    image = Image.new("RGB", size, RED)
    draw = ImageDraw.Draw(image)
    draw.rectangle((width // 2, 0, width, height // 2), fill=GREEN)
    draw.rectangle((0, height // 2, width // 2, height), fill=BLUE)
    draw.rectangle((width // 2, height // 2, width, height), fill=YELLOW)
    return image


def noise(size: tuple[int, int], seed: int = 1) -> Image.Image:
    """Random pixels (seeded): they do not compress, so any cut lands in the middle of the pixel data."""
    return Image.frombytes("RGB", size, random.Random(seed).randbytes(size[0] * size[1] * 3))


def animation(fmt: str, colours: list[tuple[int, int, int]], durations: list[int]) -> bytes:
    frames = [Image.new("RGB", (64, 48), colour) for colour in colours]
    return encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=durations, loop=0)


def handmade_png(width: int, height: int) -> bytes:
    """A 1-bit black PNG of any size, built chunk by chunk: a few KB that declare width × height pixels."""
    row = b"\0" * (1 + (width + 7) // 8)
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def tiny_gif_animation(frames: int, screen: tuple[int, int] | None = None) -> bytes:
    """An animation of 1×1 frames alternating black and white (so none is merged away); with
    ``screen``, the logical screen it declares is that large (every frame decodes to that size)."""
    images = []
    for i in range(frames):
        frame = Image.new("P", (1, 1), i % 2)
        frame.putpalette([0, 0, 0, 255, 255, 255])
        images.append(frame)
    data = bytearray(encode(images[0], "GIF", save_all=True, append_images=images[1:], duration=20))
    if screen is not None:
        data[6:10] = struct.pack("<HH", *screen)
    return bytes(data)


def multipart(fields: Sequence[tuple[str, str | bytes]] = (),
              files: Sequence[tuple[str, str, str, bytes]] = ()) -> tuple[bytes, str]:
    """A multipart/form-data body of plain ``fields`` (name, value) and ``files`` (name, filename,
    content type, data); returns the body and its Content-Type with the boundary."""
    boundary = "tcboundary" + uuid.uuid4().hex
    parts = []
    for name, value in fields:
        raw = value.encode() if isinstance(value, str) else value
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + raw + b"\r\n")
    for name, filename, content_type, data in files:
        assert boundary.encode() not in data
        head = (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                f"Content-Type: {content_type}\r\n\r\n")
        parts.append(head.encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


async def upload(
    client: Client, account: Account | None, group_id: int | str, data: bytes, *, client_id: str | bytes | None = None,
    filename: str = "upload", part_type: str = "application/octet-stream", headers: dict[str, str] | None = None,
) -> Response:
    fields = [] if client_id is None else [("client_id", client_id)]
    body, content_type = multipart(fields, [("image", filename, part_type, data)])
    return await client.request("POST", f"/api/groups/{group_id}/images", body=body,
                                headers={"Content-Type": content_type, **(headers or {})},
                                token=account.token if account else None)


async def fetch(client: Client, account: Account | None, url: str, headers: dict[str, str] | None = None) -> Response:
    return await client.request("GET", url, token=account.token if account else None, headers=headers)


def opened(data: bytes, fmt: str) -> Image.Image:
    """The bytes decoded, by the decoder of ``fmt`` only."""
    image = Image.open(io.BytesIO(data), formats=[fmt])
    image.load()
    assert image.format == fmt
    return image


def durations(image: Image.Image) -> list[int]:
    found = []
    for i in range(image.n_frames):
        image.seek(i)
        image.load()
        found.append(image.info.get("duration"))
    return found


def colour_at(image: Image.Image, xy: tuple[int, int], frame: int = 0) -> tuple[int, int, int]:
    image.seek(frame)
    return image.convert("RGB").getpixel(xy)  # type: ignore[return-value]


def near(actual: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 40) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


def counts(server: Server) -> tuple[int, int]:
    """(messages, images) stored in the whole database."""
    db = server.settings.database
    return query(db, "SELECT COUNT(*) FROM messages")[0][0], query(db, "SELECT COUNT(*) FROM images")[0][0]


async def owner_and_group(client: Client) -> tuple[Account, int]:
    ana = await client.register()
    return ana, (await client.create_group(ana))["id"]


async def sent_image(client: Client, data: bytes | None = None) -> tuple[Account, int, dict[str, Any]]:
    """A user, their group and an image message they sent there."""
    ana, group_id = await owner_and_group(client)
    r = await upload(client, ana, group_id, data if data is not None else encode(quadrants(), "PNG"))
    assert r.status == 201, r.body
    return ana, group_id, r.json["message"]


async def served(client: Client, account: Account, message: dict[str, Any]) -> tuple[Response, Response]:
    """The full image and the thumbnail of an image message, as ``account`` fetches them; both must be 200."""
    full = await fetch(client, account, message["image"]["url"])
    thumb = await fetch(client, account, message["image"]["thumb_url"])
    assert (full.status, thumb.status) == (200, 200), (full.body[:200], thumb.body[:200])
    return full, thumb


def as_served(response: Response) -> Image.Image:
    """The served bytes decoded by the decoder their Content-Type names, which must be one of the four."""
    content_type = response.headers["Content-Type"]
    fmt = {v: k for k, v in CONTENT_TYPES.items()}[content_type]
    return opened(response.body, fmt)


async def refused(server: Server, client: Client, data: bytes, status: int, code: str, **kwargs: Any) -> None:
    """Uploading ``data`` gets ``status`` with the error ``code`` and stores nothing."""
    ana, group_id = await owner_and_group(client)
    before = counts(server)
    r = await upload(client, ana, group_id, data, **kwargs)
    assert (r.status, r.error_code) == (status, code), r.body[:300]
    assert set(r.json["error"]) == {"code", "message"} and r.json["error"]["message"]
    assert counts(server) == before


# Each format, told by its content


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "WEBP"])
async def test_each_supported_format_becomes_an_image_message_served_in_that_format(
    client: Client, server: Server, fmt: str
) -> None:
    ana, group_id = await owner_and_group(client)
    r = await upload(client, ana, group_id, encode(quadrants((120, 80)), fmt), filename=f"q.{fmt.lower()}")
    assert r.status == 201, r.body
    message = r.json["message"]
    assert set(message) == MESSAGE_KEYS
    assert {k: message[k] for k in ("group_id", "seq", "user", "kind", "text", "client_id")} == {
        "group_id": group_id, "seq": 1, "user": ana.user, "kind": "image", "text": None, "client_id": None,
    }
    image = message["image"]
    assert set(image) == {"url", "thumb_url", "width", "height"}
    assert (image["width"], image["height"]) == (120, 80)
    assert image["url"].startswith("/") and image["thumb_url"].startswith("/") and image["url"] != image["thumb_url"]
    full, thumb = await served(client, ana, message)
    assert full.headers["Content-Type"] == CONTENT_TYPES[fmt]
    decoded = opened(full.body, fmt)
    assert decoded.size == (120, 80)
    assert near(colour_at(decoded, (10, 10)), RED) and near(colour_at(decoded, (110, 70)), YELLOW)
    small = as_served(thumb)
    assert small.size == (120, 80)
    assert near(colour_at(small, (10, 10)), RED)
    history = await client.request("GET", f"/api/groups/{group_id}/messages", token=ana.token)
    assert history.json["messages"] == [message]
    assert query(server.settings.database, "SELECT content_type, width, height FROM images WHERE message_id = %s",
                 (message["id"],)) == [(CONTENT_TYPES[fmt], 120, 80)]


@pytest.mark.parametrize(
    ("fmt", "filename", "part_type"),
    [("PNG", "photo.jpg", "image/jpeg"), ("JPEG", "picture.png", "image/png"), ("GIF", "clip.webp", "image/webp"),
     ("WEBP", "noextension", "text/plain")],
)
async def test_the_format_is_told_by_the_content_not_the_file_name_or_declared_type(
    client: Client, fmt: str, filename: str, part_type: str
) -> None:
    ana, group_id = await owner_and_group(client)
    r = await upload(client, ana, group_id, encode(quadrants(), fmt), filename=filename, part_type=part_type)
    assert r.status == 201, r.body
    full, _ = await served(client, ana, r.json["message"])
    assert full.headers["Content-Type"] == CONTENT_TYPES[fmt]
    assert opened(full.body, fmt).size == (120, 80)


async def test_a_jpeg_with_a_multi_picture_extension_is_a_jpeg(client: Client, server: Server) -> None:
    """MPO files (cameras' multi-picture JPEGs, usually named .jpg) are JPEG by their content."""
    first, second = quadrants((120, 80)), Image.new("RGB", (120, 80), BLUE)
    data = encode(first, "MPO", save_all=True, append_images=[second])
    assert data[:3] == b"\xff\xd8\xff"
    ana, group_id = await owner_and_group(client)
    r = await upload(client, ana, group_id, data, filename="camera.jpg", part_type="image/jpeg")
    assert r.status == 201, r.body[:300]
    full, _ = await served(client, ana, r.json["message"])
    assert full.headers["Content-Type"] == "image/jpeg"
    assert near(colour_at(opened(full.body, "JPEG"), (10, 10)), RED)


# Clean re-encoding


def jpeg_with_metadata() -> bytes:
    """Left half red, right half blue, stored sideways (orientation 6), with GPS EXIF, a camera name,
    a comment and XMP, all carrying the secret."""
    image = Image.new("RGB", (300, 200), RED)
    ImageDraw.Draw(image).rectangle((150, 0, 300, 200), fill=BLUE)
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = SECRET
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (52.0, 31.0, 12.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (13.0, 24.0, 36.0)
    xmp = f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF>{SECRET}</rdf:RDF></x:xmpmeta>'.encode()
    return encode(image, "JPEG", exif=exif, comment=SECRET.encode(), xmp=xmp, quality=95)


async def test_a_jpeg_loses_its_exif_gps_comment_and_xmp_and_is_turned_upright(client: Client) -> None:
    data = jpeg_with_metadata()
    original = opened(data, "JPEG")
    assert original.getexif().get_ifd(ExifTags.IFD.GPSInfo) and {"exif", "comment", "xmp"} <= set(original.info)
    ana, _, message = await sent_image(client, data)
    assert (message["image"]["width"], message["image"]["height"]) == (200, 300)
    full, thumb = await served(client, ana, message)
    assert SECRET.encode() not in full.body and SECRET.encode() not in thumb.body
    for response in (full, thumb):
        image = as_served(response)
        assert dict(image.getexif()) == {}
        assert not {"exif", "comment", "xmp"} & set(image.info), image.info.keys()
        assert image.size == (200, 300)
        # turned a quarter clockwise: the left half (red) is now on top, the right (blue) below
        assert near(colour_at(image, (100, 40)), RED) and near(colour_at(image, (100, 260)), BLUE)


async def test_png_text_chunks_are_dropped(client: Client) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", SECRET)
    info.add_text("Author", SECRET, zip=True)
    info.add_itxt("Description", SECRET, lang="en", tkey="Beschreibung")
    info.add_itxt("XML:com.adobe.xmp", f"<x:xmpmeta>{SECRET}</x:xmpmeta>")
    data = encode(quadrants(), "PNG", pnginfo=info)
    assert len(opened(data, "PNG").text) == 4
    ana, _, message = await sent_image(client, data)
    full, thumb = await served(client, ana, message)
    assert SECRET.encode() not in full.body and SECRET.encode() not in thumb.body
    stored = opened(full.body, "PNG")
    assert stored.text == {}
    assert not re.search(rb"tEXt|zTXt|iTXt", full.body)


async def test_a_gif_comment_is_dropped(client: Client) -> None:
    data = encode(quadrants().convert("P"), "GIF", comment=SECRET.encode())
    assert opened(data, "GIF").info["comment"] == SECRET.encode()
    ana, _, message = await sent_image(client, data)
    full, thumb = await served(client, ana, message)
    assert SECRET.encode() not in full.body and SECRET.encode() not in thumb.body
    assert "comment" not in opened(full.body, "GIF").info


@pytest.mark.parametrize(("size", "thumb_size"), [((2000, 1000), (512, 256)), ((1000, 2000), (256, 512))])
async def test_the_thumbnail_fits_in_512_px_keeping_the_aspect_ratio(
    client: Client, size: tuple[int, int], thumb_size: tuple[int, int]
) -> None:
    ana, _, message = await sent_image(client, encode(quadrants(size), "JPEG"))
    assert (message["image"]["width"], message["image"]["height"]) == size
    full, thumb = await served(client, ana, message)
    assert opened(full.body, "JPEG").size == size
    small = as_served(thumb)
    assert small.size == thumb_size
    width, height = thumb_size
    assert near(colour_at(small, (5, 5)), RED) and near(colour_at(small, (width - 5, height - 5)), YELLOW)


async def test_a_small_image_is_not_enlarged_for_its_thumbnail(client: Client) -> None:
    ana, _, message = await sent_image(client, encode(quadrants((300, 200)), "PNG"))
    _, thumb = await served(client, ana, message)
    width, height = as_served(thumb).size
    assert width <= 300 and height <= 200
    assert width * 200 == height * 300


@pytest.mark.parametrize("fmt", ["GIF", "WEBP"])
async def test_an_animation_keeps_its_frames_and_durations_and_its_thumbnail_is_the_first_frame(
    client: Client, fmt: str
) -> None:
    colours, times = [RED, GREEN, BLUE, YELLOW], [100, 200, 300, 400]
    data = animation(fmt, colours, times)
    assert durations(opened(data, fmt)) == times
    ana, _, message = await sent_image(client, data)
    assert (message["image"]["width"], message["image"]["height"]) == (64, 48)
    full, thumb = await served(client, ana, message)
    assert full.headers["Content-Type"] == CONTENT_TYPES[fmt]
    stored = opened(full.body, fmt)
    assert stored.n_frames == 4
    assert [near(colour_at(stored, (30, 20), i), colour) for i, colour in enumerate(colours)] == [True] * 4
    assert durations(stored) == times
    first = as_served(thumb)
    assert getattr(first, "n_frames", 1) == 1
    assert near(colour_at(first, (30, 20)), RED)


# Refused: not a supported image (415)


async def test_a_text_file_named_like_a_png_gets_415(client: Client, server: Server) -> None:
    await refused(server, client, b"just some text, honestly a PNG\n" * 20, 415, "unsupported_image",
                  filename="cat.png", part_type="image/png")


SVG = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
       b'<script>alert(1)</script><rect width="10" height="10"/></svg>')


@pytest.mark.parametrize("fmt", ["SVG", "BMP", "TIFF", "ICO", "PPM", "PCX", "TGA"])
async def test_images_of_other_formats_get_415(client: Client, server: Server, fmt: str) -> None:
    data = SVG if fmt == "SVG" else encode(quadrants((32, 32)), fmt)
    if fmt != "SVG":
        assert opened(data, fmt).size == (32, 32)  # a real image, only of a format not allowed
    await refused(server, client, data, 415, "unsupported_image", filename=f"q.{fmt.lower()}", part_type="image/png")


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "WEBP"])
async def test_a_truncated_image_gets_415(client: Client, server: Server, fmt: str) -> None:
    data = encode(noise((64, 64)), fmt)
    opened(data, fmt)
    await refused(server, client, data[: len(data) // 2], 415, "unsupported_image")


async def test_an_empty_file_gets_415(client: Client, server: Server) -> None:
    await refused(server, client, b"", 415, "unsupported_image", filename="empty.png", part_type="image/png")


async def test_damaged_images_never_get_a_500_and_store_only_what_is_accepted(client: Client, server: Server) -> None:
    rng = random.Random(20261124)
    sources = [encode(noise((32, 32), seed=i), fmt) for i, fmt in enumerate(CONTENT_TYPES)]
    ana, group_id = await owner_and_group(client)
    accepted = 0
    for i in range(40):
        damaged = bytearray(sources[i % 4])
        for _ in range(rng.randint(1, 6)):
            damaged[rng.randrange(8, len(damaged))] = rng.randrange(256)
        before = counts(server)
        r = await upload(client, ana, group_id, bytes(damaged))
        assert r.status in (201, 413, 415), (i, r.status, r.body[:200])
        if r.status != 201:
            assert r.error_code == {413: "image_too_large", 415: "unsupported_image"}[r.status]
            assert counts(server) == before
        else:
            accepted += 1
            assert counts(server) == (before[0] + 1, before[1] + 1)
    assert query(server.settings.database, "SELECT COUNT(*) FROM messages WHERE group_id = %s",
                 (group_id,))[0][0] == accepted


# Refused: too large (413)


async def test_a_decompression_bomb_gets_413(client: Client, server: Server) -> None:
    bomb = handmade_png(10_000, 10_000)
    assert len(bomb) < 100_000
    await refused(server, client, bomb, 413, "image_too_large")


async def test_an_image_just_over_50_megapixels_gets_413(client: Client, server: Server) -> None:
    data = handmade_png(7072, 7071)
    assert 50_000_000 < 7072 * 7071 < 50_010_000
    await refused(server, client, data, 413, "image_too_large")


async def test_an_animation_of_more_than_300_frames_gets_413(client: Client, server: Server) -> None:
    data = tiny_gif_animation(301)
    assert opened(data, "GIF").n_frames == 301 and len(data) < 20_000
    await refused(server, client, data, 413, "image_too_large")


async def test_an_animation_of_300_frames_is_accepted(client: Client) -> None:
    ana, _, message = await sent_image(client, tiny_gif_animation(300))
    full, _ = await served(client, ana, message)
    assert opened(full.body, "GIF").n_frames == 300


async def test_an_animation_whose_frames_together_decode_to_too_many_pixels_gets_413(
    client: Client, server: Server
) -> None:
    data = tiny_gif_animation(10, screen=(7000, 7000))  # 49 MP a frame, 490 MP in all, in a few hundred bytes
    assert len(data) < 1000
    await refused(server, client, data, 413, "image_too_large")


async def test_a_photo_of_nearly_10_mib_is_accepted(client: Client) -> None:
    data = encode(noise((2600, 2000)), "JPEG", quality=100)
    assert 9.5 * MIB < len(data) <= 10 * MIB
    ana, _, message = await sent_image(client, data)
    full, thumb = await served(client, ana, message)
    assert opened(full.body, "JPEG").size == (2600, 2000)
    width, height = as_served(thumb).size
    assert width == 512 and abs(height - 512 * 2000 / 2600) <= 1


async def test_an_image_file_of_exactly_10_mib_is_accepted(client: Client) -> None:
    data = encode(quadrants(), "PNG")
    data += b"\0" * (10 * MIB - len(data))  # after IEND: ignored by decoders, counted by the limit
    ana, _, message = await sent_image(client, data)
    full, _ = await served(client, ana, message)
    assert opened(full.body, "PNG").size == (120, 80) and len(full.body) < MIB


async def test_an_image_file_over_10_mib_gets_413(client: Client, server: Server) -> None:
    data = encode(quadrants(), "PNG")
    data += b"\0" * (10 * MIB + 1 - len(data))
    await refused(server, client, data, 413, "image_too_large")


async def test_an_11_mib_upload_gets_413_image_too_large(client: Client, server: Server) -> None:
    await refused(server, client, random.Random(3).randbytes(11 * MIB), 413, "image_too_large")


async def raw_exchange(
    server: Server, head: str, send_body: Callable[[asyncio.StreamWriter], Awaitable[None]] | None = None,
    limit: float = 10.0,
) -> tuple[int, dict[str, str], bytes]:
    """One request written by hand on its own connection, the body (if any) sent by ``send_body``
    while the answer is read; returns the status (0: closed without an answer), headers and body."""
    address = urlsplit(server.base_url)
    reader, writer = await asyncio.open_connection(address.hostname, address.port)
    writer.write(head.encode("latin-1"))
    sender = asyncio.create_task(send_body(writer)) if send_body else None
    try:
        async with asyncio.timeout(limit):
            try:
                status_line = await reader.readline()
            except ConnectionError:
                status_line = b""
            if not status_line:
                return 0, {}, b""
            headers: dict[str, str] = {}
            while (line := (await reader.readline()).decode("latin-1").strip()):
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            return int(status_line.split()[1]), headers, body
    finally:
        if sender is not None:
            sender.cancel()
        writer.close()


def upload_head(server: Server, account: Account, group_id: int, framing: str) -> str:
    port = urlsplit(server.base_url).port
    return (f"POST /api/groups/{group_id}/images HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Bearer {account.token}\r\nContent-Type: multipart/form-data; boundary=x\r\n"
            f"{framing}\r\n\r\n")


async def test_a_declared_length_over_the_limit_gets_413_before_any_of_the_body_is_sent(
    client: Client, server: Server
) -> None:
    ana, group_id = await owner_and_group(client)
    before = counts(server)
    status, headers, body = await raw_exchange(
        server, upload_head(server, ana, group_id, f"Content-Length: {11 * MIB}"), limit=5.0)
    assert status == 413
    assert headers["content-type"].startswith("application/json")
    assert Response(status, headers, body).error_code == "image_too_large"
    assert counts(server) == before


async def test_an_11_mib_upload_without_a_declared_length_gets_413(client: Client, server: Server) -> None:
    """Sent chunked, the size is known only while the body streams in: the refusal must still be a 413."""
    ana, group_id = await owner_and_group(client)
    before = counts(server)

    async def chunks(writer: asyncio.StreamWriter) -> None:
        piece = b"\0" * (256 * 1024)
        try:
            for _ in range(11 * MIB // len(piece)):
                writer.write(b"%x\r\n" % len(piece) + piece + b"\r\n")
                await writer.drain()
            writer.write(b"0\r\n\r\n")
            await writer.drain()
        except ConnectionError:
            pass  # the server may stop reading once it has answered

    status, headers, body = await raw_exchange(
        server, upload_head(server, ana, group_id, "Transfer-Encoding: chunked"), chunks)
    assert status == 413, (status, body[:200])
    assert Response(status, headers, body).error_code == "image_too_large"
    assert counts(server) == before


# Refused: bad requests (400)


@pytest.mark.parametrize(
    ("fields", "files"),
    [
        ([("client_id", "only-this")], []),
        ([], [("file", "q.png", "image/png", encode(quadrants(), "PNG"))]),
        ([("image", encode(quadrants(), "PNG"))], []),
        ([], []),
    ],
    ids=["only-client-id", "other-field-name", "image-as-a-plain-field", "no-parts"],
)
async def test_an_upload_without_the_image_file_field_gets_400(
    client: Client, server: Server, fields: list[tuple[str, Any]], files: list[tuple[str, str, str, bytes]]
) -> None:
    ana, group_id = await owner_and_group(client)
    before = counts(server)
    body, content_type = multipart(fields, files)
    r = await client.request("POST", f"/api/groups/{group_id}/images", body=body,
                             headers={"Content-Type": content_type}, token=ana.token)
    assert r.status == 400, r.body
    assert r.error_code
    assert counts(server) == before


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", b'{"image": "iVBORw0KGgo="}'),
        ("image/png", encode(quadrants(), "PNG")),
        ("application/x-www-form-urlencoded", b"image=abc&client_id=x"),
        ("multipart/form-data", multipart([], [("image", "q.png", "image/png", encode(quadrants(), "PNG"))])[0]),
        ("multipart/form-data; boundary=nowhere", b"this is not multipart at all"),
    ],
    ids=["json", "raw-png", "urlencoded", "multipart-without-boundary", "wrong-boundary"],
)
async def test_a_body_that_is_not_a_multipart_upload_gets_400(
    client: Client, server: Server, content_type: str, body: bytes
) -> None:
    ana, group_id = await owner_and_group(client)
    before = counts(server)
    r = await client.request("POST", f"/api/groups/{group_id}/images", body=body,
                             headers={"Content-Type": content_type}, token=ana.token)
    assert r.status == 400, r.body
    assert r.error_code
    assert counts(server) == before


@pytest.mark.parametrize("client_id", ["x" * 65, "", b"\xff\xfe-not-utf8"], ids=["65-chars", "empty", "not-utf8"])
async def test_a_bad_client_id_gets_400_invalid_client_id(
    client: Client, server: Server, client_id: str | bytes
) -> None:
    await refused(server, client, encode(quadrants(), "PNG"), 400, "invalid_client_id", client_id=client_id)


async def test_a_client_id_of_64_characters_is_accepted(client: Client) -> None:
    ana, group_id = await owner_and_group(client)
    r = await upload(client, ana, group_id, encode(quadrants(), "PNG"), client_id="é" * 64)
    assert r.status == 201
    assert r.json["message"]["client_id"] == "é" * 64


# Same seq, events and retries as text


async def test_a_retry_with_the_same_client_id_gets_200_and_the_original_message(
    client: Client, server: Server
) -> None:
    ana, group_id = await owner_and_group(client)
    data = encode(quadrants(), "PNG")
    first = await upload(client, ana, group_id, data, client_id="tab-1:0001")
    assert first.status == 201
    before = counts(server)
    again = await upload(client, ana, group_id, data, client_id="tab-1:0001")
    assert again.status == 200
    assert again.json["message"] == first.json["message"]
    other_bytes = await upload(client, ana, group_id, encode(quadrants(), "JPEG"), client_id="tab-1:0001")
    assert other_bytes.status == 200
    assert other_bytes.json["message"] == first.json["message"]
    assert counts(server) == before
    assert query(server.settings.database, "SELECT COUNT(*) FROM images i JOIN messages m ON m.id = i.message_id "
                 "WHERE m.group_id = %s", (group_id,)) == [(1,)]


async def test_the_same_client_id_from_another_member_is_a_new_message(client: Client, server: Server) -> None:
    ana, group_id = await owner_and_group(client)
    bob = await client.register()
    await client.join(bob, group_id)
    data = encode(quadrants(), "PNG")
    first = await upload(client, ana, group_id, data, client_id="same")
    second = await upload(client, bob, group_id, data, client_id="same")
    assert (first.status, second.status) == (201, 201)
    assert [first.json["message"]["seq"], second.json["message"]["seq"]] == [1, 2]
    assert second.json["message"]["image"]["url"] != first.json["message"]["image"]["url"]


async def test_image_and_text_messages_share_one_seq(client: Client, server: Server) -> None:
    ana, group_id = await owner_and_group(client)
    text1 = await client.send(ana, group_id, "before")
    image = await upload(client, ana, group_id, encode(quadrants(), "PNG"))
    text2 = await client.send(ana, group_id, "after")
    assert [r.status for r in (text1, image, text2)] == [201, 201, 201]
    assert [r.json["message"]["seq"] for r in (text1, image, text2)] == [1, 2, 3]
    history = await client.request("GET", f"/api/groups/{group_id}/messages", token=ana.token)
    assert [(m["seq"], m["kind"]) for m in history.json["messages"]] == [(1, "text"), (2, "image"), (3, "text")]
    assert query(server.settings.database, "SELECT seq, kind FROM messages WHERE group_id = %s ORDER BY seq",
                 (group_id,)) == [(1, "text"), (2, "image"), (3, "text")]


async def test_a_waiting_long_poll_receives_the_image_message(client: Client) -> None:
    ana, group_id = await owner_and_group(client)
    bob = await client.register()
    await client.join(bob, group_id)
    cursor = await client.cursor(bob)
    received: list[dict[str, Any]] = []

    async def listen() -> None:
        nonlocal cursor
        while not received:
            r = await client.poll(bob, cursor, timeout=5)
            assert r.status == 200
            cursor = r.json["cursor"]
            received.extend(e["message"] for e in r.json["events"] if e["type"] == "message")

    listener = asyncio.create_task(listen())
    await asyncio.sleep(0.1)
    r = await upload(client, ana, group_id, encode(quadrants(), "WEBP"))
    assert r.status == 201
    await asyncio.wait_for(listener, 10)
    assert received == [r.json["message"]]
    full, _ = await served(client, bob, received[0])
    assert full.headers["Content-Type"] == "image/webp"


# Who may fetch an image


async def test_the_sender_and_an_earlier_member_may_fetch_the_image_and_its_thumbnail(client: Client) -> None:
    ana, group_id = await owner_and_group(client)
    bob = await client.register()
    await client.join(bob, group_id)
    r = await upload(client, ana, group_id, encode(quadrants(), "PNG"))
    for account in (ana, bob):
        full, thumb = await served(client, account, r.json["message"])
        assert opened(full.body, "PNG").size == (120, 80)


async def no_access(client: Client, account: Account | None, message: dict[str, Any]) -> list[Response]:
    answers = [await fetch(client, account, message["image"][key]) for key in ("url", "thumb_url")]
    for r in answers:
        assert (r.status, r.error_code) == (404, "image_not_found"), r.body[:200]
        assert r.headers["Content-Type"].startswith("application/json")
    return answers


async def test_a_non_member_gets_404_for_the_image_and_its_thumbnail(client: Client) -> None:
    _, _, message = await sent_image(client)
    eve = await client.register()
    await client.create_group(eve)
    await no_access(client, eve, message)


async def test_an_anonymous_client_gets_the_same_404_as_a_non_member(client: Client) -> None:
    _, _, message = await sent_image(client)
    eve = await client.register()
    stranger = await no_access(client, eve, message)
    anonymous = await no_access(client, None, message)
    assert [r.body for r in anonymous] == [r.body for r in stranger]
    unknown = await fetch(client, eve, f"/images/{secrets.token_urlsafe(24)}")
    assert unknown.body == stranger[0].body


async def test_a_member_who_joined_after_the_image_was_sent_gets_404(client: Client) -> None:
    ana, group_id, message = await sent_image(client)
    late = await client.register()
    await client.join(late, group_id)
    await no_access(client, late, message)
    later = await upload(client, ana, group_id, encode(quadrants(), "GIF"))
    await served(client, late, later.json["message"])


async def test_a_member_who_left_gets_404_even_after_joining_again(client: Client) -> None:
    ana, group_id = await owner_and_group(client)
    bob = await client.register()
    await client.join(bob, group_id)
    r = await upload(client, ana, group_id, encode(quadrants(), "PNG"))
    await served(client, bob, r.json["message"])
    assert (await client.request("DELETE", f"/api/groups/{group_id}/membership", token=bob.token)).status == 204
    await no_access(client, bob, r.json["message"])
    await client.join(bob, group_id)
    await no_access(client, bob, r.json["message"])


@pytest.mark.parametrize("suffix", ["", "/thumb"])
async def test_an_unknown_well_formed_key_gets_404(client: Client, suffix: str) -> None:
    ana, _, _ = await sent_image(client)
    r = await fetch(client, ana, f"/images/{secrets.token_urlsafe(24)}{suffix}")
    assert (r.status, r.error_code) == (404, "image_not_found")


@pytest.mark.parametrize(
    "path",
    ["/images/short", "/images/" + "A" * 33, "/images/" + "A" * 31 + "!", "/images/" + "A" * 31 + "%2F",
     "/images/../api/me", "/images/{key}/full", "/images/{key}/thumb/x", "/images/{key}x", "/images/"],
)
async def test_a_malformed_key_gets_404(client: Client, path: str) -> None:
    ana, _, message = await sent_image(client)
    key = message["image"]["url"].rsplit("/", 1)[1]
    r = await fetch(client, ana, path.replace("{key}", key))
    assert r.status == 404
    assert r.headers["Content-Type"].startswith("application/json")


async def test_a_non_member_with_the_etag_gets_404_not_304(client: Client) -> None:
    ana, _, message = await sent_image(client)
    etag = (await fetch(client, ana, message["image"]["url"])).headers["ETag"]
    eve = await client.register()
    for account in (eve, None):
        r = await fetch(client, account, message["image"]["url"], {"If-None-Match": etag})
        assert r.status == 404


# Headers of the served bytes


async def test_served_images_carry_nosniff_an_etag_and_private_long_lived_caching(client: Client) -> None:
    ana, _, message = await sent_image(client, encode(quadrants(), "GIF"))
    full, thumb = await served(client, ana, message)
    assert full.headers["Content-Type"] == "image/gif"
    assert thumb.headers["Content-Type"] == CONTENT_TYPES[as_served(thumb).format]
    for r in (full, thumb):
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers.get("ETag")
        directives = [d.strip().lower() for d in r.headers["Cache-Control"].split(",")]
        assert "private" in directives and "public" not in directives and "no-store" not in directives
        max_age = next(int(d.split("=", 1)[1]) for d in directives if d.startswith("max-age="))
        assert max_age >= 86400
    assert full.headers["ETag"] != thumb.headers["ETag"]


async def test_if_none_match_with_the_etag_gets_304_without_a_body(client: Client) -> None:
    ana, _, message = await sent_image(client)
    for url in (message["image"]["url"], message["image"]["thumb_url"]):
        etag = (await fetch(client, ana, url)).headers["ETag"]
        r = await fetch(client, ana, url, {"If-None-Match": etag})
        assert (r.status, r.body) == (304, b"")
        other = await fetch(client, ana, url, {"If-None-Match": '"something-else"'})
        assert other.status == 200 and other.body


# Who may upload


async def test_an_upload_without_a_session_gets_401(client: Client, server: Server) -> None:
    _, group_id = await owner_and_group(client)
    before = counts(server)
    r = await upload(client, None, group_id, encode(quadrants(), "PNG"))
    assert (r.status, r.error_code) == (401, "not_authenticated")
    assert counts(server) == before


async def test_an_upload_to_a_group_not_joined_gets_403_not_member(client: Client, server: Server) -> None:
    _, group_id = await owner_and_group(client)
    eve = await client.register()
    before = counts(server)
    for data in (encode(quadrants(), "PNG"), b"not an image"):
        r = await upload(client, eve, group_id, data)
        assert (r.status, r.error_code) == (403, "not_member")
    assert counts(server) == before


@pytest.mark.parametrize("group_id", ["999999999", "abc", "0", "-1"])
async def test_an_upload_to_a_group_that_does_not_exist_gets_404_group_not_found(
    client: Client, server: Server, group_id: str
) -> None:
    ana = await client.register()
    before = counts(server)
    r = await upload(client, ana, group_id, encode(quadrants(), "PNG"))
    assert (r.status, r.error_code) == (404, "group_not_found")
    assert counts(server) == before


async def signed_in_browser(server: Server) -> tuple[Client, int]:
    browser = server.client(cookies=True)
    r = await browser.request("POST", "/api/users", {"username": f"pic_{uuid.uuid4().hex[:12]}", "password": "pw" * 8})
    assert r.status == 201
    xsrf = {"X-XSRFToken": browser.cookies["_xsrf"]}
    group = await browser.request("POST", "/api/groups", {"name": f"g {uuid.uuid4().hex}"}, headers=xsrf)
    return browser, group.json["group"]["id"]


async def test_a_cookie_authenticated_upload_needs_the_xsrf_token(server: Server) -> None:
    browser, group_id = await signed_in_browser(server)
    before = counts(server)
    for headers in ({}, {"X-XSRFToken": "forged"}):
        r = await upload(browser, None, group_id, encode(quadrants(), "PNG"), headers=headers)
        assert (r.status, r.error_code) == (403, "xsrf_failed")
    assert counts(server) == before
    r = await upload(browser, None, group_id, encode(quadrants(), "PNG"),
                     headers={"X-XSRFToken": browser.cookies["_xsrf"]})
    assert r.status == 201


async def test_a_cookie_authenticated_upload_may_carry_the_xsrf_token_as_a_form_field(server: Server) -> None:
    browser, group_id = await signed_in_browser(server)
    body, content_type = multipart([("_xsrf", browser.cookies["_xsrf"])],
                                   [("image", "q.png", "image/png", encode(quadrants(), "PNG"))])
    r = await browser.request("POST", f"/api/groups/{group_id}/images", body=body,
                              headers={"Content-Type": content_type})
    assert r.status == 201, r.body


async def test_an_upload_from_another_site_gets_403(client: Client, server: Server) -> None:
    ana, group_id = await owner_and_group(client)
    before = counts(server)
    r = await upload(client, ana, group_id, encode(quadrants(), "PNG"),
                     headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"})
    assert r.status == 403
    assert counts(server) == before
