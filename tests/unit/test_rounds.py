"""The hub's wake-up rounds: a lone piece of news wakes its waiters at once; news that
comes sooner than the interval after the last round waits for the next one; the interval
doubles while news keeps coming, up to WAKE_INTERVAL_MAX, and is WAKE_INTERVAL_MIN again
after a quiet spell.

The event loop's clock is the test's (``Clock``): rounds come due exactly when the test
moves it, however busy the machine. The hub has no storage to give it.
"""

from __future__ import annotations

import asyncio

import pytest

from tornado_chat.models import User
from tornado_chat.realtime.hub import WAKE_INTERVAL_MAX, WAKE_INTERVAL_MIN, Hub
from tornado_chat.realtime.waiter import Waiter

from ..support.clock import Clock

GROUP = 7
ANA = User(1, "ana")
STEP = WAKE_INTERVAL_MIN / 4  # how often news comes, when it keeps coming


@pytest.fixture
async def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(asyncio.get_running_loop(), "time", clock.monotonic)
    return clock


@pytest.fixture
async def hub() -> Hub:
    return Hub()


async def settle() -> None:
    """Let the loop run what is due by now (a round's timer, then what it wakes)."""
    for _ in range(3):
        await asyncio.sleep(0)


async def news(hub: Hub) -> None:
    hub.typing(GROUP, ANA)
    await settle()


async def woken_after(clock: Clock, hub: Hub, waiter: Waiter, seconds: float) -> bool:
    """Whether the waiter was woken once ``seconds`` have passed (and ready it again)."""
    clock.advance(seconds)
    await settle()
    woken = waiter.woken
    waiter.rearm()
    return woken


async def rounds_under_steady_news(clock: Clock, hub: Hub, waiter: Waiter, seconds: float) -> list[float]:
    """News every STEP for ``seconds``: when each round came, from the first news on."""
    start, rounds = clock.now, []
    while clock.now - start < seconds:
        await news(hub)
        if waiter.woken:
            rounds.append(round(clock.now - start, 6))
            waiter.rearm()
        clock.advance(STEP)
    return rounds


def gaps(times: list[float]) -> list[float]:
    return [round(b - a, 6) for a, b in zip(times, times[1:], strict=False)]


async def test_a_lone_piece_of_news_wakes_its_waiters_at_once_once_the_current_callback_is_done(
    clock: Clock, hub: Hub
) -> None:
    """At once, with no wait for a timer; but not inside the call that brought the news, so
    that the sender's own answer is written before a thousand waiters are woken."""
    waiter = hub.park(ANA.id, [GROUP])
    hub.typing(GROUP, ANA)
    assert not waiter.woken
    await asyncio.sleep(0)
    assert waiter.woken


async def test_news_sooner_than_the_interval_waits_for_the_next_round(clock: Clock, hub: Hub) -> None:
    waiter = hub.park(ANA.id, [GROUP])
    await news(hub)
    waiter.rearm()
    clock.advance(WAKE_INTERVAL_MIN / 2)
    await news(hub)
    assert not waiter.woken
    assert await woken_after(clock, hub, waiter, WAKE_INTERVAL_MIN / 2)


async def test_the_interval_doubles_while_news_keeps_coming_up_to_wake_interval_max(clock: Clock, hub: Hub) -> None:
    waiter = hub.park(ANA.id, [GROUP])
    rounds = await rounds_under_steady_news(clock, hub, waiter, 0.1)
    assert rounds[0] == 0
    doubling = [WAKE_INTERVAL_MIN * 2**n for n in range(8) if WAKE_INTERVAL_MIN * 2**n < WAKE_INTERVAL_MAX]
    assert gaps(rounds)[: len(doubling) + 2] == pytest.approx([*doubling, WAKE_INTERVAL_MAX, WAKE_INTERVAL_MAX])
    assert max(gaps(rounds)) == pytest.approx(WAKE_INTERVAL_MAX)


async def test_the_interval_is_back_at_wake_interval_min_after_a_quiet_spell(clock: Clock, hub: Hub) -> None:
    waiter = hub.park(ANA.id, [GROUP])
    await rounds_under_steady_news(clock, hub, waiter, 0.1)  # the interval is at its maximum now
    assert await woken_after(clock, hub, waiter, WAKE_INTERVAL_MAX)  # the round of the last news
    clock.advance(WAKE_INTERVAL_MAX)  # then nothing for as long as the interval
    await news(hub)
    assert waiter.woken  # a lone piece of news again: at once
    waiter.rearm()
    assert (await rounds_under_steady_news(clock, hub, waiter, WAKE_INTERVAL_MIN * 1.5)) == [WAKE_INTERVAL_MIN]


async def test_one_round_wakes_the_waiters_of_every_group_with_news(clock: Clock, hub: Hub) -> None:
    first, second = hub.park(ANA.id, [GROUP]), hub.park(2, [GROUP + 1])
    await news(hub)
    first.rearm()
    clock.advance(WAKE_INTERVAL_MIN / 2)
    hub.typing(GROUP, ANA)
    hub.typing(GROUP + 1, ANA)
    await settle()
    assert not (first.woken or second.woken)
    clock.advance(WAKE_INTERVAL_MIN / 2)
    await settle()
    assert first.woken and second.woken
