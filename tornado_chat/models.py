"""The records the service passes around, and their JSON shape from the contract."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

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


def iso(moment: datetime.datetime) -> str:
    """ISO 8601 in UTC with a Z suffix and milliseconds, as the contract shows."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "username": self.username}


@dataclass(frozen=True, slots=True)
class Group:
    id: int
    name: str
    created_at: datetime.datetime
    created_by: User
    members: int
    online: int
    joined: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "created_at": iso(self.created_at),
            "created_by": self.created_by.to_json(),
            "members": self.members,
            "online": self.online,
            "joined": self.joined,
        }


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

    def to_json(self) -> dict[str, Any]:
        return {
            "url": f"/images/{self.key}",
            "thumb_url": f"/images/{self.key}/thumb",
            "width": self.width,
            "height": self.height,
        }


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

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "group_id": self.group_id,
            "seq": self.seq,
            "user": self.user.to_json(),
            "kind": self.kind,
            "text": self.text,
            "image": self.image.to_json() if self.image else None,
            "created_at": iso(self.created_at),
            "client_id": self.client_id,
        }
