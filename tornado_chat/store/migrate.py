"""PLACEHOLDER until the migrations branch lands: applies schema.sql."""

from __future__ import annotations

import re

import aiomysql

from ..config import PROJECT_ROOT, DatabaseTimeouts, DatabaseURL
from .database import answered_within


async def migrate(url: DatabaseURL, connect_timeout: float = DatabaseTimeouts.connect) -> list[str]:
    async with answered_within(connect_timeout):
        conn = await aiomysql.connect(
            autocommit=True, connect_timeout=connect_timeout, **url.connect_kwargs(with_database=False)
        )
    try:
        async with conn.cursor() as cur:
            await cur.execute("SET SESSION sql_notes = 0")
            await cur.execute(
                f"CREATE DATABASE IF NOT EXISTS `{url.database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
            )
            await cur.execute(f"USE `{url.database}`")
            text = re.sub(r"--[^\n]*", "", (PROJECT_ROOT / "schema.sql").read_text(encoding="utf-8"))
            for statement in [s.strip() for s in text.split(";") if s.strip()]:
                await cur.execute(statement)
    finally:
        conn.close()
    return []
