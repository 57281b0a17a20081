"""Storage by aggregate: every SQL statement of the service lives in this package.

``database`` holds the pool, transactions and the error mapping; each other module
one aggregate: ``accounts`` (users, sessions), ``groups`` (groups, memberships), ``members`` (the members
list, roles, removals and bans, group details, direct groups),
``messages`` (sending, history, images; ``message_rows`` reads one whole), ``changes``
(edit, delete, react), ``log`` (a group's log read back), ``presence``, ``read_state``
(read marks, unread counts, notification levels), ``search`` (full-text search),
``your_data`` (a user's export, closing an account); ``migrate``
brings a database's schema up to date at start.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config import DatabaseTimeouts, DatabaseURL
from .accounts import AccountStore
from .changes import ChangeStore
from .database import Database
from .groups import GroupStore
from .log import LogStore
from .members import MemberStore
from .messages import MessageStore
from .presence import PresenceStore
from .read_state import ReadStore
from .search import SearchStore
from .your_data import YourDataStore


@dataclass(frozen=True)
class Store:
    """Every aggregate, over one pool."""

    db: Database
    accounts: AccountStore
    groups: GroupStore
    members: MemberStore
    messages: MessageStore
    changes: ChangeStore
    log: LogStore
    presence: PresenceStore
    read: ReadStore
    search: SearchStore
    your_data: YourDataStore

    @classmethod
    async def open(cls, url: DatabaseURL, pool_size: int, timeouts: DatabaseTimeouts) -> Store:
        db = await Database.connect(url, pool_size, timeouts)
        return cls(
            db, AccountStore(db), GroupStore(db), MemberStore(db), MessageStore(db), ChangeStore(db), LogStore(db),
            PresenceStore(db), ReadStore(db), SearchStore(db), YourDataStore(db),
        )
