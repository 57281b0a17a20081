"""Uploaded images: told by their content, checked, re-encoded clean, thumbnailed.

Only the PNG, JPEG, GIF and WebP decoders ever run on an upload (Pillow's
``formats=``): its other decoders are where most of its CVEs have been. Sizes
are checked from the header before any pixel is decoded, Pillow's
decompression-bomb warning is an error, and a truncated file is refused.
Every stored image is re-encoded from pixels alone, so EXIF (GPS included),
comments, XMP and ICC profiles are left behind; it is turned upright first.
All of this is CPU work: callers run ``process`` in an executor.
"""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

FORMATS = ("PNG", "JPEG", "GIF", "WEBP")
CONTENT_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}
MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 50_000_000
MAX_FRAMES = 300
MAX_FRAME_PIXELS_TOTAL = 100_000_000  # all frames of an animation together (each decodes to RGBA)
MAX_STORED_BYTES = 14 * 1024 * 1024  # a re-encoding larger than this is refused, not stored
THUMB_SIZE = 512


class ImageRejected(ValueError):
    """Why an upload cannot be stored: 413 (too large) or 415 (not a supported image)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def too_large(message: str) -> ImageRejected:
    return ImageRejected(413, "image_too_large", message)


def unsupported(message: str) -> ImageRejected:
    return ImageRejected(415, "unsupported_image", message)


@dataclass(frozen=True)
class Encoded:
    content_type: str
    data: bytes
    width: int
    height: int


@dataclass(frozen=True)
class ProcessedImage:
    full: Encoded
    thumb: Encoded


def process(data: bytes) -> ProcessedImage:
    """Check an upload and re-encode it; raises ImageRejected."""
    if len(data) > MAX_BYTES:
        raise too_large(f"an image may have at most {MAX_BYTES // (1024 * 1024)} MiB")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=FORMATS) as image:
                _check_size(image)
                # A JPEG with a multi-picture extension (as phones write) opens as MPO: keep its
                # first picture, as a JPEG.
                fmt = "JPEG" if image.format == "MPO" else image.format
                frames, durations = _decode(image, first_only=fmt == "JPEG")
                loop = image.info.get("loop")
        except ImageRejected:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise too_large("the image decodes to too many pixels") from exc
        except UnidentifiedImageError as exc:
            raise unsupported("send a PNG, JPEG, GIF or WebP image") from exc
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise unsupported("the image is damaged or truncated") from exc
    assert fmt is not None
    full = _encode(frames, fmt, durations, loop)
    if len(full.data) > MAX_STORED_BYTES:
        raise too_large("the image is too large once re-encoded")
    return ProcessedImage(full, _thumbnail(frames[0]))


def _check_size(image: Image.Image) -> None:
    width, height = image.size
    frames = 1 if image.format == "MPO" else getattr(image, "n_frames", 1)
    if width * height > MAX_PIXELS:
        raise too_large(f"an image may have at most {MAX_PIXELS // 1_000_000} megapixels")
    if frames > MAX_FRAMES:
        raise too_large(f"an animation may have at most {MAX_FRAMES} frames")
    if width * height * frames > MAX_FRAME_PIXELS_TOTAL:
        raise too_large("the animation decodes to too many pixels")


def _decode(image: Image.Image, first_only: bool) -> tuple[list[Image.Image], list[int]]:
    """Every frame, turned upright, as a fresh image that carries pixels and nothing else;
    and each frame's duration, for animations."""
    frames, durations = [], []
    for frame in ImageSequence.Iterator(image):
        frame.load()  # WebP sets a frame's duration only once it is loaded
        durations.append(int(frame.info.get("duration", 100)))
        upright = _upright(frame)
        clean = Image.new(upright.mode, upright.size)
        clean.paste(upright)
        if upright.mode == "P":
            clean.putpalette(upright.getpalette() or [])
            if "transparency" in upright.info:
                clean.info["transparency"] = upright.info["transparency"]
        frames.append(clean)
        if first_only:
            break
    return frames, durations


def _upright(frame: Image.Image) -> Image.Image:
    """A copy turned by the EXIF orientation; EXIF that cannot be read has nothing to say."""
    try:
        return ImageOps.exif_transpose(frame)
    except (SyntaxError, ValueError, KeyError, TypeError, struct.error):
        return frame.copy()


def _encode(frames: list[Image.Image], fmt: str, durations: list[int], loop: int | None) -> Encoded:
    out = io.BytesIO()
    first = frames[0]
    if fmt == "JPEG":
        # Not optimize=True: it makes Pillow encode in one call that holds the GIL (76 ms for
        # 4 MP), stalling the event loop; plain encoding yields it and is 6% larger.
        first.convert("L" if first.mode == "L" else "RGB").save(out, "JPEG", quality=88)
    elif fmt == "PNG":
        first.save(out, "PNG")
    elif len(frames) > 1:
        looping = {} if loop is None else {"loop": loop}  # no loop count: the animation plays once
        first.save(out, fmt, save_all=True, append_images=frames[1:], duration=durations, **looping)
    else:
        first.save(out, fmt)
    return Encoded(CONTENT_TYPES[fmt], out.getvalue(), first.width, first.height)


def _thumbnail(frame: Image.Image) -> Encoded:
    thumb = frame.copy()
    thumb.thumbnail((THUMB_SIZE, THUMB_SIZE))
    out = io.BytesIO()
    if thumb.mode in ("RGBA", "LA", "P", "PA") and (thumb.mode != "P" or "transparency" in thumb.info):
        thumb.convert("RGBA").save(out, "PNG")
        content_type = "image/png"
    else:
        thumb.convert("RGB").save(out, "JPEG", quality=82)
        content_type = "image/jpeg"
    return Encoded(content_type, out.getvalue(), thumb.width, thumb.height)
