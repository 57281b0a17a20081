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


def timestamp(moment: datetime.datetime) -> float:
    """A naive UTC datetime as a time.time() value."""
    return moment.replace(tzinfo=UTC).timestamp()


def online_since(timeout: float) -> datetime.datetime:
    """The oldest last-seen time that still counts as online."""
    return utcnow() - datetime.timedelta(seconds=timeout)


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str


@dataclass(frozen=True, slots=True)
class Group:
    """A group as one viewer sees it: ``role`` is theirs (None when not a member), ``peer`` the
    other member of a direct group (the viewer themself in their own), and ``removed_by``/``banned``
    say why a former member is out."""

    id: int
    name: str
    created_at: datetime.datetime
    created_by: User
    members: int
    online: int
    joined: bool
    kind: str = "public"
    topic: str = ""
    role: str | None = None
    peer: User | None = None
    removed_by: User | None = None
    banned: bool = False
    read: ReadState | None = None  # the viewer's, when a member


@dataclass(frozen=True, slots=True)
class Member:
    """One member of a group, as the members list shows them."""

    user: User
    role: str
    joined_at: datetime.datetime


@dataclass(frozen=True, slots=True)
class Membership:
    """A user's current membership: ``id`` changes at every (re)join, and the
    member sees messages with seq > ``start_seq``."""

    id: int
    group_id: int
    start_seq: int
    start_pos: int = 0  # where in the group's log the view starts (the log position at the join)
    role: str = "member"
    last_read_seq: int = 0
    notify: str = "all"

    @property
    def read_stamp(self) -> int:
        """The read state as one number (read up to, and the notification level), which a cursor
        carries so that any process can tell whether the client's copy is current."""
        return self.last_read_seq * len(NOTIFY_LEVELS) + NOTIFY_LEVELS.index(self.notify)


NOTIFY_LEVELS = ("all", "mentions", "none")


@dataclass(frozen=True, slots=True)
class ReadState:
    """What a member has read of a group and what notifies them: a ``read`` event's content."""

    group_id: int
    last_read_seq: int
    unread: int
    unread_mentions: int
    notify: str


@dataclass(frozen=True, slots=True)
class ImageRef:
    """Where an image message's picture is served; the key is random and unguessable."""

    key: str
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class ReplyRef:
    """The message a reply answers, as it is now: an excerpt of its text (None for an image
    or a deleted message)."""

    seq: int
    user: User
    kind: str
    text: str | None
    deleted: bool


@dataclass(frozen=True, slots=True)
class Reaction:
    """One emoji on a message and who reacted with it, in the order they did."""

    emoji: str
    users: tuple[User, ...]


@dataclass(frozen=True, slots=True)
class Message:
    """A message as it is at ``version``; ``pos`` is where its creation stands in the group's log.
    A deleted message is a tombstone: no text, image, reply, reactions or mentions."""

    id: int
    group_id: int
    seq: int
    user: User
    kind: str
    text: str | None
    created_at: datetime.datetime
    client_id: str | None
    image: ImageRef | None = None
    version: int = 1
    pos: int = 0
    edited_at: datetime.datetime | None = None
    deleted: bool = False
    reply_to: ReplyRef | None = None
    reactions: tuple[Reaction, ...] = ()
    mentions: tuple[User, ...] = ()


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One persistent change in a group's log (a new message, a change to one): its position,
    the seq of the message it concerns (who may see it follows from that), its event JSON as
    every member who may see it receives it, and when it happened (a time.time() value)."""

    group_id: int
    pos: int
    seq: int
    event: str
    created: float

    @property
    def about_group(self) -> bool:
        """An entry about the group itself (its details, a member's role), not a message:
        every member sees it from their join on, whatever the seq they joined at."""
        return self.seq == GROUP_ENTRY_SEQ


GROUP_ENTRY_SEQ = 0  # the seq of a log entry about the group itself; messages count from 1
