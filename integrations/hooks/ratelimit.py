"""Per-hook rate limits (`rate_limit = "10/s"`): a token bucket in the process."""

from __future__ import annotations

import math
import re
import time

RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*/\s*(s|sec|second|m|min|minute|h|hour)\s*$")
PERIODS = {"s": 1.0, "sec": 1.0, "second": 1.0, "m": 60.0, "min": 60.0, "minute": 60.0}
PERIODS |= {"h": 3600.0, "hour": 3600.0}


def parse_rate(text: str) -> tuple[float, float]:
    """`"10/s"` → (10 requests, 1 second); raises `ValueError` for anything else."""
    match = RATE.match(text)
    if match is None or float(match.group(1)) <= 0:
        raise ValueError('write it as a positive count per s, m or h, e.g. "10/s"')
    return float(match.group(1)), PERIODS[match.group(2)]


class TokenBucket:
    """Allows bursts up to `count` and refills at `count / period` per second."""

    def __init__(self, count: float, period: float) -> None:
        self.capacity = max(count, 1.0)
        self.rate = count / period
        self.tokens = self.capacity
        self.updated = time.monotonic()

    def take(self) -> float:
        """0 when the request may go ahead, else the seconds until it could (for Retry-After)."""
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


def retry_after_header(seconds: float) -> str:
    """Whole seconds, at least 1, as `Retry-After` wants them."""
    return str(max(1, math.ceil(seconds)))
