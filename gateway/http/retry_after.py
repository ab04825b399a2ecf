"""`Retry-After`, read and written in one place.

Read: delta-seconds or an HTTP date, as any server may send it. Written: whole seconds, at
least 1, as every answer of this gateway sends it.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header: delta-seconds or an HTTP date; None if unusable."""
    if value is None:
        return None
    text = value.strip()
    if not text or not text.isascii():
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if seconds == seconds else None  # NaN is unusable
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now or datetime.now(UTC)
    return max((when - current).total_seconds(), 0.0)


def retry_after_header(seconds: float) -> str:
    """Whole seconds, at least 1, as `Retry-After` wants them."""
    return str(max(1, math.ceil(seconds)))
