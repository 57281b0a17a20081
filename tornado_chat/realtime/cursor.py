"""The events cursor: what a client has seen, in a form any process can read.

A cursor records, for each group the client knows it is in, the membership it knew
(``membership id``), the position in the group's log it has read up to and a digest of
the online list it holds, plus where it stood in a process's ephemeral log (``epoch``, ``position``).
It is opaque to clients.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..models import NOTIFY_LEVELS
from ..validation import MAX_ID

# About 650 groups at five numbers each (fewer with long ids); bounds the work a hostile cursor can
# cause, and stays well inside Tornado's 64 KiB request head, where the cursor travels.
MAX_CURSOR_CHARS = 32_000
MAX_DIGEST = 2**32  # a CRC-32 of the online list
MAX_READ_STAMP = MAX_ID * len(NOTIFY_LEVELS) + len(NOTIFY_LEVELS)
# "c1.<epoch>.<position>.<group>-<membership>-<pos>-<digest>_...": URL-safe as it stands, and
# read with split() and int(), which costs a poll far less than JSON in base64.
# A fifth number, the membership's read stamp (issue 16), is optional: a cursor made before it
# reads as one whose read state is current.
_ENTRY = r"[0-9]{1,19}-[0-9]{1,19}-[0-9]{1,19}-[0-9]{1,10}(?:-[0-9]{1,20})?"
CURSOR_RE = re.compile(rf"c1\.[0-9a-f]{{1,32}}\.[0-9]{{1,19}}\.(?:{_ENTRY}(?:_{_ENTRY})*)?")


class InvalidCursor(ValueError):
    pass


@dataclass(frozen=True)
class Cursor:
    epoch: str
    position: int
    # group -> (membership id, pos, presence digest, read stamp or None)
    groups: dict[int, tuple[int, int, int, int | None]] = field(default_factory=dict)

    def encode(self) -> str:
        entries = "_".join(
            f"{g}-{m}-{s}-{d}" + ("" if r is None else f"-{r}") for g, (m, s, d, r) in sorted(self.groups.items())
        )
        return f"c1.{self.epoch}.{self.position}.{entries}"

    @classmethod
    def decode(cls, text: str) -> Cursor:
        if len(text) > MAX_CURSOR_CHARS or not CURSOR_RE.fullmatch(text):
            raise InvalidCursor("malformed cursor")
        _, epoch, position, packed = text.split(".")
        entries: dict[int, tuple[int, int, int, int | None]] = {}
        for entry in packed.split("_") if packed else ():
            group_id, membership_id, pos, digest, *stamp = map(int, entry.split("-"))
            read = stamp[0] if stamp else None
            if not (group_id and membership_id and max(group_id, membership_id, pos) <= MAX_ID and digest < MAX_DIGEST):
                raise InvalidCursor("malformed cursor")
            if read is not None and read > MAX_READ_STAMP:
                raise InvalidCursor("malformed cursor")
            entries[group_id] = (membership_id, pos, digest, read)
        if int(position) > MAX_ID:
            raise InvalidCursor("malformed cursor")
        return cls(epoch, int(position), entries)
