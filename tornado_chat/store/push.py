"""Web Push subscriptions, and who a new message notifies (members, their levels, their
subscriptions, who is not online) read in one statement."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from .. import permissions
from ..errors import SessionGone
from ..models import utcnow
from .database import Database, placeholders, retried_on_conflict


@dataclass(frozen=True, slots=True)
class Subscription:
    """Where one browser of a user is reached: the push service's URL and the browser's keys."""

    id: int
    user_id: int
    endpoint: str
    p256dh: str
    auth: str


@dataclass(frozen=True)
class Recipients:
    """A new message's group as its readers name it, and the subscriptions to push it to."""

    group_name: str
    group_kind: str
    subscriptions: list[Subscription]


class PushStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    @retried_on_conflict
    async def subscribe(
        self, user_id: int, token_hash: str, endpoint: str, p256dh: str, auth: str, keep: int
    ) -> bool:
        """Keep the subscription for ``user_id``, made with the session of ``token_hash``; whether
        it is new (a known endpoint gets the new keys and session). The endpoint leaves any other
        user (a browser belongs to whoever subscribed it last), and only the user's ``keep``
        newest subscriptions stay. The user's row lock serialises their subscribes."""
        async with self._db.transaction() as cur:
            await cur.execute("SELECT 1 FROM users WHERE id = %s FOR UPDATE", (user_id,))
            await cur.execute("SELECT id FROM sessions WHERE token_hash = %s AND user_id = %s", (token_hash, user_id))
            session = await cur.fetchone()
            if session is None:
                raise SessionGone()
            await cur.execute(
                "DELETE FROM push_subscriptions WHERE endpoint = %s AND user_id <> %s", (endpoint, user_id)
            )
            await cur.execute(
                "SELECT id FROM push_subscriptions WHERE user_id = %s AND endpoint = %s", (user_id, endpoint)
            )
            known = await cur.fetchone()
            if known is not None:
                await cur.execute(
                    "UPDATE push_subscriptions SET p256dh = %s, auth = %s, session_id = %s WHERE id = %s",
                    (p256dh, auth, session[0], known[0]),
                )
                return False
            await cur.execute(
                """INSERT INTO push_subscriptions (user_id, session_id, endpoint, p256dh, auth, created_at)
                   VALUES (%s, %s, %s, %s, %s, %s)""",
                (user_id, session[0], endpoint, p256dh, auth, utcnow()),
            )
            await cur.execute("SELECT id FROM push_subscriptions WHERE user_id = %s ORDER BY id DESC", (user_id,))
            old = [row[0] for row in await cur.fetchall()][keep:]
            if old:
                await cur.execute(f"DELETE FROM push_subscriptions WHERE id IN ({placeholders(old)})", old)
        return True

    async def unsubscribe(self, user_id: int, endpoint: str) -> None:
        await self._db.one("DELETE FROM push_subscriptions WHERE user_id = %s AND endpoint = %s", (user_id, endpoint))

    async def delete(self, subscription_id: int) -> None:
        """Forget a subscription its push service called gone (404, 410)."""
        await self._db.one("DELETE FROM push_subscriptions WHERE id = %s", (subscription_id,))

    async def recipients(
        self, group_id: int, seq: int, sender_id: int, mentioned: Iterable[int], online_since: datetime.datetime
    ) -> Recipients | None:
        """The subscriptions of the members a new message notifies: not its sender, members
        who see it (joined before it), whose level says so (``all``; ``mentions`` when it
        mentions them, or in a direct group, where every message counts as mentioning the
        other), and who have no presence fresher than ``online_since``. None if nobody."""
        mentioned_ids = list(mentioned) or [0]  # user ids start at 1: 0 mentions no one
        rows = await self._db.all(
            f"""SELECT g.name, g.kind, s.id, s.user_id, s.endpoint, s.p256dh, s.auth
                FROM memberships m
                JOIN chat_groups g ON g.id = m.group_id
                JOIN push_subscriptions s ON s.user_id = m.user_id
                WHERE m.group_id = %s AND m.user_id <> %s AND m.start_seq < %s
                  AND (m.notify = 'all' OR (m.notify = 'mentions'
                       AND (g.kind = '{permissions.DIRECT}' OR m.user_id IN ({placeholders(mentioned_ids)}))))
                  AND NOT EXISTS (SELECT 1 FROM presence p WHERE p.user_id = m.user_id AND p.last_seen > %s)
                ORDER BY s.id""",
            (group_id, sender_id, seq, *mentioned_ids, online_since),
        )
        if not rows:
            return None
        return Recipients(rows[0][0], rows[0][1], [Subscription(*row[2:]) for row in rows])
