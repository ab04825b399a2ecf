"""Per-hook rate limits (`rate_limit = "10/s"`): the text, read into one of the core's buckets."""

from __future__ import annotations

import re
import time

from gateway.limits.buckets import TokenBucket

RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*/\s*(s|sec|second|m|min|minute|h|hour)\s*$")
PERIODS = {"s": 1.0, "sec": 1.0, "second": 1.0, "m": 60.0, "min": 60.0, "minute": 60.0}
PERIODS |= {"h": 3600.0, "hour": 3600.0}


def parse_rate(text: str) -> tuple[float, float]:
    """`"10/s"` → (10 requests, 1 second); raises `ValueError` for anything else."""
    match = RATE.match(text)
    if match is None or float(match.group(1)) <= 0:
        raise ValueError('write it as a positive count per s, m or h, e.g. "10/s"')
    return float(match.group(1)), PERIODS[match.group(2)]


def rate_bucket(text: str) -> TokenBucket:
    """The bucket of a hook's `rate_limit`: bursts of up to the count, refilled over the period."""
    count, period = parse_rate(text)
    return TokenBucket(max(count, 1.0), count / period, now=time.monotonic())
