"""The wire format: every JSON object and event the service sends is made here.

Clients see the shapes of the contract (``../shared/API.md``): objects (user, group,
message), events of the long poll, the poll's answer and the error body. Processes
see a second, internal shape: the changes they pass each other through Redis, which
must carry a message whole (with its image's key) so another process can rebuild it.

Events are encoded to JSON text once, where they are made, and spliced into answers
as text: a message woken to a thousand polls is encoded once, not a thousand times.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable
from typing import Any

from .models import Group, ImageRef, Member, Message, ReadState, ReplyRef, User


def dumps(payload: Any) -> str:
    """JSON text as every answer carries it: UTF-8 as typed, not \\u escapes."""
    return json.dumps(payload, ensure_ascii=False)


def iso(moment: datetime.datetime) -> str:
    """ISO 8601 in UTC with a Z suffix and milliseconds, as the contract shows."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


# Objects

def user(u: User) -> dict[str, Any]:
    return {"id": u.id, "username": u.username}


def users(items: Iterable[User]) -> list[dict[str, Any]]:
    return [user(u) for u in items]


def group(g: Group) -> dict[str, Any]:
    return {
        "id": g.id,
        "name": g.name,
        "created_at": iso(g.created_at),
        "created_by": user(g.created_by),
        "members": g.members,
        "online": g.online,
        "joined": g.joined,
        "kind": g.kind,
        "topic": g.topic,
        "role": g.role,
        "peer": user(g.peer) if g.peer else None,
        "last_read_seq": g.read.last_read_seq if g.read else None,
        "unread": g.read.unread if g.read else None,
        "unread_mentions": g.read.unread_mentions if g.read else None,
        "notify": g.read.notify if g.read else None,
    }


def member(m: Member) -> dict[str, Any]:
    return {"user": user(m.user), "role": m.role, "joined_at": iso(m.joined_at)}


def image(ref: ImageRef) -> dict[str, Any]:
    return {
        "url": f"/images/{ref.key}",
        "thumb_url": f"/images/{ref.key}/thumb",
        "width": ref.width,
        "height": ref.height,
    }


def reply(ref: ReplyRef) -> dict[str, Any]:
    return {"seq": ref.seq, "user": user(ref.user), "kind": ref.kind, "text": ref.text, "deleted": ref.deleted}


def message(m: Message) -> dict[str, Any]:
    return {
        "id": m.id,
        "group_id": m.group_id,
        "seq": m.seq,
        "user": user(m.user),
        "kind": m.kind,
        "text": m.text,
        "image": image(m.image) if m.image else None,
        "created_at": iso(m.created_at),
        "client_id": m.client_id,
        "version": m.version,
        "edited_at": iso(m.edited_at) if m.edited_at else None,
        "deleted": m.deleted,
        "reply_to": reply(m.reply_to) if m.reply_to else None,
        "reactions": [{"emoji": r.emoji, "users": users(r.users)} for r in m.reactions],
        "mentions": users(m.mentions),
    }


# Events of the long poll, as JSON text

def message_event(m: Message) -> str:
    return dumps({"type": "message", "message": message(m)})


def message_changed_event(m: Message) -> str:
    return dumps({"type": "message_changed", "message": message(m)})


def typing_event(group_id: int, u: User) -> str:
    return dumps({"type": "typing", "group_id": group_id, "user": user(u)})


def presence_snapshot(group_id: int, online: Iterable[User]) -> str:
    return dumps({"type": "presence", "group_id": group_id, "online": users(online)})


def presence_change(group_id: int, came: Iterable[User], went: Iterable[User]) -> str:
    return dumps({"type": "presence", "group_id": group_id, "came": users(came), "went": users(went)})


def member_event(group_id: int, u: User, joined: bool) -> str:
    """Someone else joined or left a group: an addition to the contract, for the conversation's quiet lines."""
    return dumps({"type": "member", "group_id": group_id, "user": user(u), "joined": joined})


def membership_event(g: Group, joined: bool) -> str:
    """The user's own membership began or ended; an ending says who removed them (None: they
    left) and whether they are banned: additions to the contract, for the page's notice."""
    event: dict[str, Any] = {"type": "membership", "group_id": g.id, "joined": joined, "group": group(g)}
    if not joined:
        event["removed_by"] = user(g.removed_by) if g.removed_by else None
        event["banned"] = g.banned
    return dumps(event)


def read_event(r: ReadState) -> str:
    """The user's read state of a group moved (on any device); ``notify`` rides along (an
    addition to the contract), so a level set on one device shows on the others."""
    return dumps({
        "type": "read", "group_id": r.group_id, "last_read_seq": r.last_read_seq, "unread": r.unread,
        "unread_mentions": r.unread_mentions, "notify": r.notify,
    })


def group_changed_event(g: Group) -> str:
    """The group's details changed; logged once as nobody's (``role`` null, ``joined`` false),
    which ``as_seen_by`` makes each member's own."""
    return dumps({"type": "group_changed", "group": group(g)})


def member_changed_event(group_id: int, m: Member) -> str:
    """A member's role changed: an addition to the contract, so members lists stay current."""
    return dumps({"type": "member_changed", "group_id": group_id, "member": member(m)})


def as_seen_by(event: str, role: str | None) -> str:
    """An entry about the group as one member receives it: a ``group_changed`` carries their
    own role and says they are a member. Such entries are rare (a rename, a new owner), so
    parsing them again costs nothing."""
    if not event.startswith('{"type": "group_changed"'):
        return event
    payload = json.loads(event)
    payload["group"].update(role=role, joined=role is not None)
    return dumps(payload)


def poll_answer(cursor: str, events: list[str]) -> str:
    """The events answer, spliced from events already encoded. A cursor is made of letters,
    digits, dots, dashes and underscores (realtime.cursor), so it needs no escaping."""
    return '{"cursor":"' + cursor + '","events":[' + ",".join(events) + "]}"


def error(code: str, text: str) -> str:
    return dumps({"error": {"code": code, "message": text}})


# Between processes (Redis): a change is {"origin", "kind", "body"}; a log entry travels as
# its event JSON (see realtime.channel.LogEntry), made once by the process that committed it.

def change(origin: str, kind: str, body: dict[str, Any]) -> str:
    return dumps({"origin": origin, "kind": kind, "body": body})


def user_from(data: dict[str, Any]) -> User:
    return User(data["id"], data["username"])
