"""UpstreamBudget: a token bucket that keeps the tracker under `POLL_BUDGET_PER_SECOND`."""

from __future__ import annotations

import asyncio
import time


class UpstreamBudget:
    """At most `rate` requests a second, evenly spaced (a bucket that holds `burst` tokens).

    `pause(seconds)` empties the bucket for a while: when OneInbox says 429, every poller of
    this process waits, not only the one that was told.
    """

    def __init__(self, rate: float, *, burst: float = 1.0) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = max(1.0, burst)
        self._tokens = self.burst
        self._updated = time.monotonic()
        self._paused_until = 0.0
        self._lock = asyncio.Lock()
        self.spent = 0

    def _refill(self, now: float) -> None:
        start = max(self._updated, self._paused_until)
        if now > start:
            self._tokens = min(self.burst, self._tokens + (now - start) * self.rate)
        self._updated = max(now, self._updated)

    @property
    def available(self) -> float:
        """Tokens that could be taken right now without waiting."""
        now = time.monotonic()
        if now < self._paused_until:
            return 0.0
        self._refill(now)
        return self._tokens

    async def take(self) -> None:
        """Wait for a token and spend it; callers queue in order."""
        async with self._lock:
            while True:
                now = time.monotonic()
                if now < self._paused_until:
                    await asyncio.sleep(self._paused_until - now)
                    continue
                self._refill(now)
                if self._tokens >= 1.0:
                    self._tokens -= 1.0
                    self.spent += 1
                    return
                await asyncio.sleep((1.0 - self._tokens) / self.rate)

    def pause(self, seconds: float) -> None:
        """Spend nothing for `seconds` (the upstream asked us to slow down)."""
        until = time.monotonic() + max(0.0, seconds)
        if until > self._paused_until:
            self._paused_until = until
            self._tokens = 0.0
