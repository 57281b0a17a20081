"""Rate limits: a token bucket per key, in this process's memory.

A bucket holds up to ``burst`` tokens and gains ``rate`` a second; each action
takes one. An empty bucket answers how long until the next token, which becomes
the ``Retry-After`` of a 429. With several processes each counts its own share:
the limits are per process (a user kept on one process by the load balancer, as
deploy/ does, meets exactly the configured limit).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass

_SPEC_RE = re.compile(r"(\d+(?:\.\d+)?)/(s|min|h):(\d+)")
_UNIT_SECONDS = {"s": 1.0, "min": 60.0, "h": 3600.0}
MAX_KEYS = 100_000  # buckets per kind of action; past it the full ones are dropped


@dataclass(frozen=True)
class Limit:
    """``rate`` tokens a second, at most ``burst`` saved up."""

    rate: float
    burst: int

    @classmethod
    def parse(cls, spec: str) -> Limit | None:
        """``20/s:60`` (20 a second, bursts of 60), ``60/h:10``, or ``off`` (None)."""
        if spec.strip().lower() == "off":
            return None
        match = _SPEC_RE.fullmatch(spec.strip())
        if match is None or float(match[1]) <= 0 or int(match[3]) < 1:
            raise ValueError(f"a limit is RATE/UNIT:BURST (unit s, min or h), e.g. 20/s:60, or off; got {spec!r}")
        return cls(float(match[1]) / _UNIT_SECONDS[match[2]], int(match[3]))


class RateLimiter:
    """Buckets by key for one kind of action. Memory stays bounded: a bucket that
    has refilled is the same as none, so such buckets are dropped when there are many."""

    def __init__(self, limit: Limit | None, max_keys: int = MAX_KEYS) -> None:
        self.limit = limit
        self.max_keys = max_keys
        self._buckets: dict[object, tuple[float, float]] = {}  # key -> (tokens, when counted)

    def take(self, key: object) -> int:
        """Take a token for ``key``: 0 when allowed, else the seconds to wait (nothing taken)."""
        limit = self.limit
        if limit is None:
            return 0
        now = time.monotonic()
        tokens, then = self._buckets.get(key, (float(limit.burst), now))
        tokens = min(float(limit.burst), tokens + (now - then) * limit.rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return max(1, math.ceil((1.0 - tokens) / limit.rate))
        if key not in self._buckets and len(self._buckets) >= self.max_keys:
            self._prune(now)
        self._buckets[key] = (tokens - 1.0, now)
        return 0

    def _prune(self, now: float) -> None:
        limit = self.limit
        assert limit is not None
        full = [k for k, (tokens, then) in self._buckets.items() if tokens + (now - then) * limit.rate >= limit.burst]
        for key in full:
            del self._buckets[key]
        if len(self._buckets) >= self.max_keys:  # all busy: forgetting some is kinder than growing without end
            self._buckets.clear()


class RateLimited(Exception):
    """Too many actions of one kind (``what``) for now: try again in ``retry_after`` seconds."""

    def __init__(self, what: str, retry_after: int) -> None:
        super().__init__(what, retry_after)
        self.what = what
        self.retry_after = retry_after


class RateLimits:
    """A limiter per kind of action (``register``, ``send``, ``upload``, ``typing``)."""

    def __init__(self, limits: Mapping[str, Limit | None]) -> None:
        self._limiters = {what: RateLimiter(limit) for what, limit in limits.items()}

    def charge(self, what: str, key: object) -> None:
        """Count one action against its limit; RateLimited when there is none left."""
        retry_after = self._limiters[what].take(key)
        if retry_after:
            raise RateLimited(what, retry_after)
