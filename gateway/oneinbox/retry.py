"""When and how long to wait before re-sending a OneInbox request.

One policy for the whole client: capped exponential backoff with full jitter, except that a
server's `Retry-After` (seconds or an HTTP date) is honoured, up to a cap.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field

import httpx

RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})

# How long a caller waiting on an open request (a hook's sender, an admin API client) may be
# kept waiting on OneInbox: senders give up on a webhook after 10-30 s.
CALLER_DEADLINE_SECONDS = 10.0
# The monotonic time by which the current caller must have its answer (None: no deadline).
_DEADLINE: ContextVar[float | None] = ContextVar("oneinbox_deadline", default=None)


@contextlib.contextmanager
def answer_within(seconds: float) -> Iterator[None]:
    """Within this block no retry waits past `seconds` from now: the client gives up instead.

    A hook's sender (or an admin API client) waits on the open request, so a `Retry-After:
    120` must not keep it there; the caller answers 503 with the server's `Retry-After`
    (`gateway.oneinbox.problems`) and the sender retries.
    """
    token = _DEADLINE.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def fits_deadline(delay: float) -> bool:
    """True unless waiting `delay` seconds now would pass the caller's deadline."""
    deadline = _DEADLINE.get()
    return deadline is None or time.monotonic() + delay <= deadline


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff settings.

    Attempt ``n`` (0-based) waits a random time in ``[0, min(cap, base * 2**n)]``;
    a ``Retry-After`` answer waits that long instead, at most ``retry_after_cap``.
    """

    base: float = 0.5
    cap: float = 8.0
    retry_after_cap: float = 60.0
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def backoff(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt + 1`` (full jitter)."""
        ceiling = min(self.cap, self.base * (2**attempt))
        return self.rng.uniform(0, ceiling)

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """The wait before the next attempt, preferring the server's ``Retry-After``."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.retry_after_cap)
        return self.backoff(attempt)


def certainly_not_sent(exc: httpx.TransportError) -> bool:
    """True when the request cannot have reached the server (no connection was made)."""
    return isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
