"""One parked events request."""

from __future__ import annotations

import asyncio


class Waiter:
    """Woken by any news in its groups or for its user; re-armed, not replaced, between reads."""

    __slots__ = ("user_id", "group_ids", "membership_changed", "woken", "_future")

    def __init__(self, user_id: int, group_ids: tuple[int, ...]) -> None:
        self.user_id = user_id
        self.group_ids = group_ids
        self.membership_changed = False
        self.woken = False
        self._future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def wake(self) -> None:
        self.woken = True
        if not self._future.done():
            self._future.set_result(None)

    def rearm(self) -> None:
        """Ready to wait again, registered as before: a woken poll that reads and finds
        nothing parks again without a new waiter."""
        self.woken = False

    async def wait(self, timeout: float) -> bool:
        """Wait until woken or ``timeout`` passes; True when woken. A bare timer handle, not
        ``asyncio.timeout``: every parked poll has one, and a timeout costs no cancellation."""
        if self.woken:
            return True
        loop = asyncio.get_running_loop()
        if self._future.done():  # an earlier wait timed out
            self._future = loop.create_future()
        timer = loop.call_later(timeout, self._future.set_result, None)
        try:
            await self._future
        finally:
            timer.cancel()
        return self.woken
