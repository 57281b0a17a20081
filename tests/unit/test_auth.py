"""The pure parts of signing in: session tokens and their hashes, the long poll's session
cache, and the throttle on failed sign-ins (its pauses, window and cap)."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest

from tornado_chat import auth
from tornado_chat.auth import LoginThrottle, SessionCache, new_token, pause_after, token_hash
from tornado_chat.config import Settings
from tornado_chat.models import User

from ..support.clock import Clock

ANA, BOB = User(1, "ana"), User(2, "bob")


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(auth, "time", clock)
    return clock


# Tokens


def test_a_session_token_is_256_random_bits_url_safe() -> None:
    token = new_token()
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)
    assert len(base64.urlsafe_b64decode(token + "=")) * 8 == 256


def test_session_tokens_never_repeat() -> None:
    tokens = {new_token() for _ in range(10_000)}
    assert len(tokens) == 10_000


def test_the_stored_hash_of_a_token_is_its_sha256_in_hex() -> None:
    assert token_hash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    token = new_token()
    assert token_hash(token) == hashlib.sha256(token.encode()).hexdigest() != token_hash(new_token())


def test_a_token_that_utf8_cannot_hold_still_has_a_hash() -> None:
    """A hostile Bearer token with a lone surrogate is a wrong token, never a crash."""
    assert re.fullmatch(r"[0-9a-f]{64}", token_hash("\ud800"))


# The pause after failed sign-ins


def test_there_is_no_pause_up_to_the_allowed_failures() -> None:
    assert [pause_after(failures, 5, 300.0) for failures in range(6)] == [0.0] * 6


def test_each_failure_past_the_allowed_doubles_the_pause_from_one_second() -> None:
    assert [pause_after(failures, 5, 300.0) for failures in range(6, 12)] == [1, 2, 4, 8, 16, 32]


def test_the_pause_after_failed_sign_ins_never_exceeds_the_cap() -> None:
    cap = Settings.login_max_delay
    assert cap <= 15 * 60
    pauses = [pause_after(failures, Settings.login_failures_per_user, cap) for failures in range(1, 200)]
    assert max(pauses) == cap
    assert pauses == sorted(pauses)


# The long poll's session cache


def test_a_cached_session_is_kept_for_the_ttl(clock: Clock) -> None:
    cache = SessionCache(ttl=60.0)
    cache.put("hash", ANA, idle_left=3600.0)
    clock.advance(59.0)
    assert cache.get("hash") == ANA
    clock.advance(2.0)
    assert cache.get("hash") is None


def test_a_cached_session_expires_sooner_when_it_would_go_idle_sooner(clock: Clock) -> None:
    cache = SessionCache(ttl=60.0)
    cache.put("hash", ANA, idle_left=10.0)
    clock.advance(9.0)
    assert cache.get("hash") == ANA
    clock.advance(2.0)
    assert cache.get("hash") is None


def test_a_forgotten_session_is_gone_and_others_stay() -> None:
    cache = SessionCache()
    cache.put("revoked", ANA, idle_left=3600.0)
    cache.put("other", BOB, idle_left=3600.0)
    cache.forget("revoked")
    cache.forget("never cached")
    assert (cache.get("revoked"), cache.get("other")) == (None, BOB)


def test_a_full_cache_starts_over_rather_than_grow() -> None:
    cache = SessionCache(limit=2)
    cache.put("a", ANA, idle_left=3600.0)
    cache.put("b", BOB, idle_left=3600.0)
    cache.put("c", ANA, idle_left=3600.0)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (None, None, ANA)


def test_a_disabled_cache_answers_nothing_and_keeps_nothing() -> None:
    """Off while revocations may not arrive (Redis away): every poll asks the database."""
    cache = SessionCache()
    cache.put("before", ANA, idle_left=3600.0)
    cache.enabled = False
    cache.put("during", BOB, idle_left=3600.0)
    assert (cache.get("before"), cache.get("during")) == (None, None)
    cache.enabled = True
    assert (cache.get("before"), cache.get("during")) == (ANA, None)


# The throttle on failed sign-ins, in one process


async def fail(throttle: LoginThrottle, key: str, times: int) -> None:
    for _ in range(times):
        await throttle.failed(key)


async def test_a_key_may_try_again_at_once_up_to_the_allowed_failures(clock: Clock) -> None:
    throttle = LoginThrottle(allowed=3, window=900.0, max_delay=300.0)
    await fail(throttle, "ana", 3)
    assert await throttle.retry_after("ana") == 0
    assert await throttle.retry_after("never failed") == 0


async def test_each_failure_past_the_allowed_doubles_the_wait(clock: Clock) -> None:
    throttle = LoginThrottle(allowed=3, window=900.0, max_delay=300.0)
    waits = []
    for _ in range(5):
        await throttle.failed("ana")
        waits.append(await throttle.retry_after("ana"))
    assert waits == [0, 0, 0, 1, 2]
    await fail(throttle, "ana", 3)
    assert await throttle.retry_after("ana") == 16


async def test_the_wait_counts_down_from_the_last_failure(clock: Clock) -> None:
    throttle = LoginThrottle(allowed=0, window=900.0, max_delay=300.0)
    await fail(throttle, "ana", 4)  # an 8 s pause
    clock.advance(5.5)
    assert await throttle.retry_after("ana") == 3  # 2.5 s, rounded up
    clock.advance(2.5)
    assert await throttle.retry_after("ana") == 0


async def test_the_wait_never_exceeds_the_maximum_delay(clock: Clock) -> None:
    throttle = LoginThrottle(allowed=0, window=900.0, max_delay=30.0)
    await fail(throttle, "ana", 50)
    assert await throttle.retry_after("ana") == 30


async def test_failures_older_than_the_window_no_longer_count(clock: Clock) -> None:
    throttle = LoginThrottle(allowed=3, window=900.0, max_delay=300.0)
    await fail(throttle, "ana", 3)
    clock.advance(901.0)
    await throttle.failed("ana")
    assert await throttle.retry_after("ana") == 0


async def test_a_cap_shortens_the_wait_counted_from_the_same_failure(clock: Clock) -> None:
    """From an address that has not failed, the account's pause ends after the cap."""
    throttle = LoginThrottle(allowed=0, window=900.0, max_delay=300.0)
    await fail(throttle, "ana", 7)  # a 64 s pause
    assert (await throttle.retry_after("ana", cap=30.0), await throttle.retry_after("ana")) == (30, 64)
    clock.advance(20.0)
    assert (await throttle.retry_after("ana", cap=30.0), await throttle.retry_after("ana")) == (10, 44)
    assert await throttle.retry_after("ana", cap=300.0) == 44  # a cap longer than the pause changes nothing


async def test_has_failed_is_true_within_the_window_only(clock: Clock) -> None:
    throttle = LoginThrottle(allowed=3, window=900.0, max_delay=300.0)
    assert not await throttle.has_failed("192.0.2.7")
    await throttle.failed("192.0.2.7")
    clock.advance(899.0)
    assert await throttle.has_failed("192.0.2.7")
    clock.advance(2.0)
    assert not await throttle.has_failed("192.0.2.7")


async def test_a_success_forgets_the_failures_of_its_key_only(clock: Clock) -> None:
    throttle = LoginThrottle(allowed=0, window=900.0, max_delay=300.0)
    await fail(throttle, "ana", 3)
    await fail(throttle, "bob", 3)
    await throttle.succeeded("ana")
    assert (await throttle.retry_after("ana"), await throttle.has_failed("ana")) == (0, False)
    assert await throttle.retry_after("bob") == 4
