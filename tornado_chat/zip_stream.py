"""A zip archive written as a stream: what is written so far is taken out in pieces, so an
archive of any size is sent while it is made, with a bounded amount of it in memory.

``zipfile`` writes to a stream that cannot seek by adding a data descriptor after each member
(sizes and CRC follow the data). The calls that compress are meant for a worker thread (one
at a time: a ``ZipStream`` is not shared between threads at once); ``take`` hands over the
bytes written since the last call.
"""

from __future__ import annotations

import io
import zipfile
from typing import IO


class _Sink(io.RawIOBase):
    """A write-only, unseekable stream that keeps what is written until taken."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._written = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self._chunks.append(bytes(data))
        self._written += len(data)
        return len(data)

    def tell(self) -> int:
        return self._written

    def take(self) -> bytes:
        data, self._chunks = b"".join(self._chunks), []
        return data


class ZipStream:
    def __init__(self) -> None:
        self._sink = _Sink()
        self._zip = zipfile.ZipFile(self._sink, "w")
        self._member: IO[bytes] | None = None

    def add(self, name: str, data: bytes, compress: bool = True) -> None:
        """A whole member (JSON compressed; images stored as they are: they are compressed already)."""
        self._zip.writestr(name, data, zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED)

    def begin(self, name: str) -> None:
        """A compressed member written in pieces (``write``) until ``end``."""
        info = zipfile.ZipInfo(name)
        info.compress_type = zipfile.ZIP_DEFLATED
        self._member = self._zip.open(info, "w", force_zip64=True)

    def write(self, data: bytes) -> None:
        assert self._member is not None
        self._member.write(data)

    def end(self) -> None:
        assert self._member is not None
        self._member.close()
        self._member = None

    def close(self) -> None:
        self._zip.close()

    def take(self) -> bytes:
        return self._sink.take()
