"""UpstreamBudget: a token bucket that keeps the tracker under `POLL_BUDGET_PER_SECOND`."""

from __future__ import annotations

import asyncio
import time

from gateway.limits.buckets import TokenBucket


class UpstreamBudget:
    """At most `rate` requests a second, evenly spaced (a bucket that holds `burst` tokens).

    `pause(seconds)` empties the bucket for a while: when OneInbox says 429, every poller of
    this process waits, not only the one that was told.
    """

    def __init__(self, rate: float, *, burst: float = 1.0) -> None:
        self.rate = rate
        self._bucket = TokenBucket(max(1.0, burst), rate, now=time.monotonic())
        self._lock = asyncio.Lock()

    async def take(self) -> None:
        """Wait for a token and spend it; callers queue in order."""
        async with self._lock:
            while True:
                wait = self._bucket.take(time.monotonic())
                if wait <= 0:
                    return
                await asyncio.sleep(wait)

    def pause(self, seconds: float) -> None:
        """Spend nothing for `seconds` (the upstream asked us to slow down)."""
        self._bucket.empty_until(time.monotonic() + max(0.0, seconds))
