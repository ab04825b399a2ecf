"""The delivery retry schedule: when the next try of a failed delivery is due.

Tries happen immediately, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h after the
previous one (eight in all, about 28 hours), each delay with ±20 % jitter so that a
destination that comes back is not hit by every delivery at the same moment. A
`Retry-After` the destination sent is honoured when it asks for longer.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

# Delay before try n+1 (index n-1 after the n-th try failed); try 1 is immediate.
RETRY_DELAYS_SECONDS: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000)
MAX_ATTEMPTS = len(RETRY_DELAYS_SECONDS) + 1  # 8
JITTER = 0.2
# However long a destination asks us to wait, a try is never pushed beyond a day.
MAX_RETRY_AFTER_SECONDS = 86400.0


class RetrySchedule:
    """Delays of the schedule, multiplied by `scale` (`DELIVERY_SCHEDULE_SCALE`, tests only)."""

    def __init__(self, *, scale: float = 1.0, rng: random.Random | None = None) -> None:
        self.scale = scale
        self._rng = rng or random.Random()

    def exhausted(self, attempts: int) -> bool:
        """True when `attempts` tries have been made and none is left."""
        return attempts >= MAX_ATTEMPTS

    def delay(self, attempts: int, retry_after: float | None = None) -> float:
        """Seconds to wait after the `attempts`-th failed try (1-based)."""
        index = min(max(attempts, 1), len(RETRY_DELAYS_SECONDS)) - 1
        base = RETRY_DELAYS_SECONDS[index] * self.scale
        jittered = base * self._rng.uniform(1 - JITTER, 1 + JITTER)
        if retry_after is not None and retry_after > jittered:
            return min(retry_after, MAX_RETRY_AFTER_SECONDS)
        return jittered

    def next_attempt_at(
        self, now: datetime, attempts: int, retry_after: float | None = None
    ) -> datetime:
        """When the try after the `attempts`-th failed one is due."""
        return now + timedelta(seconds=self.delay(attempts, retry_after))
