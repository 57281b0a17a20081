"""The unit tier: pure code, in seconds, with no database, no server and no browser, so
that ``make unit`` needs only the virtualenv.

The fixtures that start something are lazy (tests/conftest.py), so a tier that asks for
none starts none; a unit test that asks for one, even through another fixture, is refused
at collection rather than quietly slowing the tier down.
"""

from __future__ import annotations

from pathlib import Path

import pytest

STARTS_SOMETHING = {"db_server", "redis_url", "start_server", "chat_processes"}
HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(HERE):
            started = STARTS_SOMETHING.intersection(getattr(item, "fixturenames", ()))
            if started:
                raise pytest.UsageError(f"{item.nodeid} is in the unit tier but uses {sorted(started)}")
