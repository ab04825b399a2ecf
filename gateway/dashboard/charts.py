"""The dashboard's two charts as plain geometry; the templates draw them as inline SVG."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

BAR_WIDTH = 360  # px of the longest outcome bar
HOURS = 24
COLUMN_HEIGHT = 120  # px of the tallest hourly column


@dataclass(frozen=True)
class OutcomeBar:
    label: str
    count: int
    width: int
    y: int


@dataclass(frozen=True)
class HourColumn:
    label: str  # "14:00"
    count: int
    x: int
    height: int


# (created_at, state, outcome) of one call.
Point = tuple[datetime, str, str | None]


def outcome_bars(points: list[Point]) -> list[OutcomeBar]:
    """Calls per outcome, most frequent first; a call without an outcome counts by state."""
    counts = Counter(outcome or f"({state})" for _, state, outcome in points)
    top = max(counts.values(), default=0)
    return [
        OutcomeBar(label, count, max(2, round(BAR_WIDTH * count / top)), index * 26)
        for index, (label, count) in enumerate(counts.most_common(8))
    ]


def calls_per_hour(points: list[Point], now: datetime) -> list[HourColumn]:
    """One column per hour of the last 24, the current hour last."""
    this_hour = now.replace(minute=0, second=0, microsecond=0)
    starts = [this_hour - timedelta(hours=HOURS - 1 - i) for i in range(HOURS)]
    counts = Counter(created.replace(minute=0, second=0, microsecond=0) for created, _, _ in points)
    top = max((counts[start] for start in starts), default=0)
    return [
        HourColumn(
            label=start.strftime("%H:00"),
            count=counts[start],
            x=i * 20,
            height=round(COLUMN_HEIGHT * counts[start] / top) if top else 0,
        )
        for i, start in enumerate(starts)
    ]
