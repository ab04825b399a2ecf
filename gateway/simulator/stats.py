"""Counts of ``/v1`` requests per endpoint template, per answer status and per second."""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from typing import Any

# Enough history for budget tests without growing without bound.
KEEP_SECONDS = 3600


class RequestStats:
    """Every ``/v1`` request as it arrives (faulted ones included) and how it was answered."""

    def __init__(self) -> None:
        self.total = 0
        self.by_endpoint: Counter[str] = Counter()
        self.by_status: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.per_second: defaultdict[int, Counter[str]] = defaultdict(Counter)

    def arrived(self, endpoint: str) -> None:
        """Count one request for ``endpoint`` (e.g. ``GET /v1/calls/{id}``)."""
        self.total += 1
        self.by_endpoint[endpoint] += 1
        second = int(time.time())
        self.per_second[second][endpoint] += 1
        if len(self.per_second) > KEEP_SECONDS:
            for old in sorted(self.per_second)[: len(self.per_second) - KEEP_SECONDS]:
                del self.per_second[old]

    def answered(self, endpoint: str, status: int) -> None:
        """Count the status code an ``endpoint`` request was answered with."""
        self.by_status[endpoint][str(status)] += 1

    def snapshot(self) -> dict[str, Any]:
        """JSON-ready counts, including the busiest second per endpoint."""
        max_per_second: Counter[str] = Counter()
        for counts in self.per_second.values():
            for endpoint, n in counts.items():
                max_per_second[endpoint] = max(max_per_second[endpoint], n)
        return {
            "total": self.total,
            "by_endpoint": dict(self.by_endpoint),
            "by_status": {k: dict(v) for k, v in self.by_status.items()},
            "per_second": {
                str(sec): dict(counts) for sec, counts in sorted(self.per_second.items())
            },
            "max_per_second": dict(max_per_second),
            "max_per_second_total": max(
                (sum(c.values()) for c in self.per_second.values()), default=0
            ),
        }
