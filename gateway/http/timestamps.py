"""Strict parsing of the timestamps that signature schemes put in headers.

`str.isdigit()` accepts `²` and Arabic-Indic digits that `int()` refuses, and `int()` refuses
more than 4,300 digits: either was a 500 before any signature was checked. Here a timestamp
is 1 to `MAX_DIGITS` ASCII digits or nothing, and a caller that gets nothing answers 401.
"""

from __future__ import annotations

import re
import time

MAX_DIGITS = 13  # Unix milliseconds until the year 2286
_DIGITS = re.compile(rf"[0-9]{{1,{MAX_DIGITS}}}")


def parse_timestamp(text: str | None) -> int | None:
    """The integer in `text` when it is only ASCII digits (at most 13), else None."""
    if text is None or not _DIGITS.fullmatch(text):
        return None
    return int(text)


def within_tolerance(seconds: float, tolerance: float, *, now: float | None = None) -> bool:
    """True when the Unix time `seconds` is at most `tolerance` seconds from now."""
    current = time.time() if now is None else now
    return abs(current - seconds) <= tolerance
