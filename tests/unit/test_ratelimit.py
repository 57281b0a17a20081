"""Rate limits: the RATE/UNIT:BURST form, and the token bucket behind each 429's Retry-After."""

from __future__ import annotations

import pytest

from tornado_chat import ratelimit
from tornado_chat.ratelimit import Limit, RateLimiter

from ..support.clock import Clock


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(ratelimit, "time", clock)
    return clock


# Limit.parse


@pytest.mark.parametrize(
    ("spec", "limit"),
    [
        ("20/s:60", Limit(20.0, 60)),
        ("60/h:10", Limit(60 / 3600, 10)),
        ("30/min:5", Limit(0.5, 5)),
        ("0.5/s:1", Limit(0.5, 1)),
        (" 2/s:10 ", Limit(2.0, 10)),
    ],
)
def test_a_limit_is_rate_per_unit_colon_burst(spec: str, limit: Limit) -> None:
    assert Limit.parse(spec) == limit


@pytest.mark.parametrize("spec", ["off", "OFF", " Off "])
def test_off_is_no_limit(spec: str) -> None:
    assert Limit.parse(spec) is None


@pytest.mark.parametrize(
    "spec",
    ["", "20", "20/s", "x/s:3", "20/day:3", "20/S:3", "0/s:5", "0.0/s:5", "5/s:0", "-1/s:5", "5/s:-1", "1e3/s:5",
     "5/s:2.5", ".5/s:1", "5 /s:1", "on"],
)
def test_any_other_form_is_refused_with_the_form_in_the_message(spec: str) -> None:
    with pytest.raises(ValueError, match="RATE/UNIT:BURST"):
        Limit.parse(spec)


# The token bucket


def test_a_full_bucket_allows_a_burst_then_refuses() -> None:
    limiter = RateLimiter(Limit(rate=1.0, burst=3))
    assert [limiter.take("ana") for _ in range(4)] == [0, 0, 0, 1]


def test_each_key_has_its_own_bucket() -> None:
    limiter = RateLimiter(Limit(rate=1.0, burst=1))
    assert (limiter.take("ana"), limiter.take("bob"), limiter.take("ana")) == (0, 0, 1)


def test_no_limit_allows_everything() -> None:
    limiter = RateLimiter(None)
    assert {limiter.take("ana") for _ in range(1000)} == {0}


def test_the_bucket_refills_at_the_rate(clock: Clock) -> None:
    limiter = RateLimiter(Limit(rate=2.0, burst=2))
    assert [limiter.take("ana") for _ in range(3)] == [0, 0, 1]
    clock.advance(0.5)  # one token back
    assert [limiter.take("ana") for _ in range(2)] == [0, 1]


def test_the_bucket_refills_no_further_than_the_burst(clock: Clock) -> None:
    limiter = RateLimiter(Limit(rate=1.0, burst=2))
    limiter.take("ana")
    clock.advance(3600)
    assert [limiter.take("ana") for _ in range(3)] == [0, 0, 1]


def test_retry_after_is_the_whole_seconds_until_the_next_token(clock: Clock) -> None:
    limiter = RateLimiter(Limit(rate=1 / 60, burst=1))  # 1/min:1
    limiter.take("ana")
    assert limiter.take("ana") == 60
    clock.advance(15.5)
    assert limiter.take("ana") == 45  # 44.5 s, rounded up
    clock.advance(44.5)
    assert limiter.take("ana") == 0


def test_retry_after_is_at_least_one_second_however_fast_the_rate() -> None:
    limiter = RateLimiter(Limit(rate=1000.0, burst=1))
    limiter.take("ana")
    assert limiter.take("ana") == 1


def test_a_refused_action_takes_no_token(clock: Clock) -> None:
    limiter = RateLimiter(Limit(rate=1.0, burst=1))
    limiter.take("ana")
    assert [limiter.take("ana") for _ in range(5)] == [1] * 5
    clock.advance(1.0)
    assert limiter.take("ana") == 0


def test_past_max_keys_full_buckets_are_dropped_and_busy_ones_kept(clock: Clock) -> None:
    """A full bucket is the same as none, so dropping it changes no answer."""
    limiter = RateLimiter(Limit(rate=1.0, burst=2), max_keys=3)
    for key in ("a", "b", "c"):
        limiter.take(key)
    clock.advance(1.0)  # a, b and c are full again
    limiter.take("a")
    limiter.take("a")  # a is busy: no token left
    limiter.take("d")  # a fourth key: the full buckets go
    assert len(limiter._buckets) == 2
    assert limiter.take("a") == 1


def test_past_max_keys_with_every_bucket_busy_all_are_forgotten() -> None:
    limiter = RateLimiter(Limit(rate=0.001, burst=1), max_keys=3)
    for key in ("a", "b", "c", "d"):
        assert limiter.take(key) == 0
    assert len(limiter._buckets) == 1
    assert limiter.take("a") == 0  # forgotten, so allowed again: kinder than growing without end
