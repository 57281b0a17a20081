"""The records the service passes around (their JSON shapes are in ``wire``), and time helpers."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

UTC = datetime.UTC


def utcnow() -> datetime.datetime:
    """Now, naive UTC at millisecond precision: what a DATETIME(3) column stores."""
    now = datetime.datetime.now(UTC).replace(tzinfo=None)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def as_utc(timestamp: float) -> datetime.datetime:
    """A time.time() value as utcnow() gives it (naive UTC, milliseconds)."""
    moment = datetime.datetime.fromtimestamp(timestamp, UTC).replace(tzinfo=None)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def online_since(timeout: float) -> datetime.datetime:
    """The oldest last-seen time that still counts as online."""
    return utcnow() - datetime.timedelta(seconds=timeout)


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str


@dataclass(frozen=True, slots=True)
class Group:
    id: int
    name: str
    created_at: datetime.datetime
    created_by: User
    members: int
    online: int
    joined: bool


@dataclass(frozen=True, slots=True)
class Membership:
    """A user's current membership: ``id`` changes at every (re)join, and the
    member sees messages with seq > ``start_seq``."""

    id: int
    group_id: int
    start_seq: int


@dataclass(frozen=True, slots=True)
class ImageRef:
    """Where an image message's picture is served; the key is random and unguessable."""

    key: str
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class Message:
    id: int
    group_id: int
    seq: int
    user: User
    kind: str
    text: str | None
    created_at: datetime.datetime
    client_id: str | None
    image: ImageRef | None = None
