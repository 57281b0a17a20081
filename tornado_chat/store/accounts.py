"""Users and their sessions."""

from __future__ import annotations

import datetime

import pymysql

from ..errors import UsernameTaken
from ..models import User, utcnow
from .database import Database, is_duplicate, placeholders

USER_COLUMNS = "u.id, u.username"


class AccountStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create_user(self, username: str, password_hash: str) -> User:
        try:
            async with self._db.cursor() as cur:
                await cur.execute(
                    "INSERT INTO users (username, password_hash, created_at) VALUES (%s, %s, %s)",
                    (username, password_hash, utcnow()),
                )
                return User(cur.lastrowid, username)
        except pymysql.err.IntegrityError as exc:
            if is_duplicate(exc):
                raise UsernameTaken(username) from exc
            raise

    async def credentials(self, username: str) -> tuple[User, str] | None:
        """The user and their password hash; the name matches whatever its case. A closed account
        has none: it is no one's to sign in to."""
        row = await self._db.one(
            "SELECT id, username, password_hash FROM users WHERE username = %s AND closed_at IS NULL", (username,)
        )
        return (User(row[0], row[1]), row[2]) if row else None

    async def users(self, user_ids: set[int] | list[int]) -> dict[int, User]:
        ids = list(user_ids)
        if not ids:
            return {}
        rows = await self._db.all(f"SELECT id, username FROM users WHERE id IN ({placeholders(ids)})", ids)
        return {r[0]: User(r[0], r[1]) for r in rows}

    async def create_session(self, user_id: int, token_hash: str) -> None:
        now = utcnow()
        await self._db.one(
            "INSERT INTO sessions (user_id, token_hash, created_at, last_used_at) VALUES (%s, %s, %s, %s)",
            (user_id, token_hash, now, now),
        )

    async def session_user(
        self, token_hash: str, used_since: datetime.datetime
    ) -> tuple[User, datetime.datetime] | None:
        """The session's user and its last use, if it was used after ``used_since``."""
        row = await self._db.one(
            f"SELECT {USER_COLUMNS}, s.last_used_at FROM sessions s JOIN users u ON u.id = s.user_id "
            "WHERE s.token_hash = %s AND s.last_used_at > %s",
            (token_hash, used_since),
        )
        return (User(row[0], row[1]), row[2]) if row else None

    async def touch_session(self, token_hash: str, now: datetime.datetime) -> None:
        await self._db.one("UPDATE sessions SET last_used_at = %s WHERE token_hash = %s", (now, token_hash))

    async def delete_idle_sessions(self, used_before: datetime.datetime) -> int:
        """Forget sessions that can no longer be used; how many there were."""
        async with self._db.cursor() as cur:
            await cur.execute("DELETE FROM sessions WHERE last_used_at < %s", (used_before,))
            return cur.rowcount

    async def delete_session(self, token_hash: str) -> None:
        await self._db.one("DELETE FROM sessions WHERE token_hash = %s", (token_hash,))
