"""The dashboard's two charts as plain geometry; the templates draw them as inline SVG."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
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


# (hour index, state, outcome, calls): what `CallRepository.day_counts` answers.
HourCount = tuple[int, str, str | None, int]


def hour_starts(now: datetime) -> list[datetime]:
    """The start of each of the last 24 hours, the current hour last."""
    this_hour = now.replace(minute=0, second=0, microsecond=0)
    return [this_hour - timedelta(hours=HOURS - 1 - i) for i in range(HOURS)]


def outcome_bars(counts: Sequence[HourCount]) -> list[OutcomeBar]:
    """Calls per outcome, most frequent first (ties by name, so a reload keeps the order); a
    call without an outcome counts by state."""
    totals: Counter[str] = Counter()
    for _, state, outcome, calls in counts:
        totals[outcome or f"({state})"] += calls
    top = max(totals.values(), default=0)
    ranked = sorted(totals.items(), key=lambda item: (-item[1], item[0]))[:8]
    return [
        OutcomeBar(label, count, max(2, round(BAR_WIDTH * count / top)), index * 26)
        for index, (label, count) in enumerate(ranked)
    ]


def calls_per_hour(counts: Sequence[HourCount], starts: Sequence[datetime]) -> list[HourColumn]:
    """One column per hour of `starts` (see `hour_starts`)."""
    per_hour: Counter[int] = Counter()
    for hour, _, _, calls in counts:
        per_hour[hour] += calls
    top = max((per_hour[i] for i in range(len(starts))), default=0)
    return [
        HourColumn(
            label=start.strftime("%H:00"),
            count=per_hour[i],
            x=i * 20,
            height=round(COLUMN_HEIGHT * per_hour[i] / top) if top else 0,
        )
        for i, start in enumerate(starts)
    ]


def total(counts: Sequence[HourCount]) -> int:
    """Every call counted."""
    return sum(calls for *_, calls in counts)
