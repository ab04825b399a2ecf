"""Token buckets for the join routes: a link and a client address each get a small budget.

Hand-written because it is twenty lines: the budgets live in this process's memory, so with
several replicas each one keeps its own (the limit then multiplies by the replica count).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


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
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str) -> float:
        """Spend one request for `key`: 0 when allowed, else the seconds until one is."""
        now = self.clock()
        tokens, at = self._buckets.pop(key, (float(self.budget.requests), now))
        tokens = min(float(self.budget.requests), tokens + (now - at) * self.budget.rate)
        wait = 0.0
        if tokens >= 1:
            tokens -= 1
        else:
            wait = (1 - tokens) / self.budget.rate
        self._buckets[key] = (tokens, now)
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return wait

    @staticmethod
    def retry_after(wait: float) -> str:
        """A `Retry-After` header value (whole seconds, at least 1)."""
        return str(max(1, math.ceil(wait)))
