"""Token buckets: the one rate-limit shape behind every budget of the gateway.

The hooks' `rate_limit`, the join, recording and sign-in routes' per-address budgets and the
tracker's upstream budget each hold buckets of this kind. They live in this process's memory,
so with several replicas each one keeps its own (a limit multiplies by the replica count).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


class TokenBucket:
    """Bursts of up to `capacity`, refilled continuously at `rate` tokens a second."""

    def __init__(self, capacity: float, rate: float, *, now: float) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.capacity = capacity
        self.rate = rate
        self.tokens = capacity
        self.updated = now

    def take(self, now: float) -> float:
        """Spend one token at `now`: 0 when there was one, else the seconds until there is one.

        Nothing is spent when the answer is a wait.
        """
        if now > self.updated:
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
        if self.tokens >= 1 and now >= self.updated:
            self.tokens -= 1
            return 0.0
        return max(0.0, self.updated - now) + (1 - self.tokens) / self.rate

    def empty_until(self, when: float) -> None:
        """No token before `when`; the bucket refills from empty after it."""
        if when > self.updated:
            self.tokens = 0.0
            self.updated = when


@dataclass(frozen=True)
class Budget:
    """`requests` per `seconds`, refilled continuously; bursts of up to `requests`."""

    requests: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


class RateLimiter:
    """One token bucket per key; the least recently used keys are forgotten past `max_keys`."""

    def __init__(
        self,
        budget: Budget,
        *,
        max_keys: int = 50_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.budget = budget
        self.max_keys = max_keys
        self.clock = clock
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def take(self, key: str) -> float:
        """Spend one request for `key`: 0 when allowed, else the seconds until one is."""
        now = self.clock()
        bucket = self._buckets.pop(key, None)
        if bucket is None:
            bucket = TokenBucket(float(self.budget.requests), self.budget.rate, now=now)
        self._buckets[key] = bucket
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return bucket.take(now)
