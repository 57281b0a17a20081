"""What happens when someone acts: store it, then tell everyone who must know.

Handlers call these, split by domain; each write commits in storage first and only
then goes to the notifier (and so to every waiter), never the other way round.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ..metrics import Metrics
from ..realtime.stream import EventStream
from .accounts import Accounts
from .changes import Changes
from .groups import Groups
from .members import Members
from .messages import Messages
from .presence import Presence
from .read_state import ReadMarks
from .search import Search
from .your_data import YourData


@dataclass(frozen=True)
class Services:
    """Everything a handler may call, handed to each through ``initialize()``."""

    accounts: Accounts
    groups: Groups
    members: Members
    read: ReadMarks
    search: Search
    messages: Messages
    changes: Changes
    your_data: YourData
    events: EventStream
    presence: Presence
    metrics: Metrics
    database_answers: Callable[[], Awaitable[bool]]
