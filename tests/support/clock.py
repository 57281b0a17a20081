"""A clock a test moves by hand, for the unit tests of code that reads the time: token
buckets refill, sessions expire, windows close and wake-up rounds come due at the second
the test says, with no sleeping and no flakiness on a busy machine."""

from __future__ import annotations


class Clock:
    """Stands in for the ``time`` module where a module reads ``time.monotonic()`` or
    ``time.time()``, or for an event loop's ``time()``; starts far from zero, as real clocks do."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
