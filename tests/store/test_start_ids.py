"""Start ids grow with time (their unique index grows at its end) and never repeat."""

from __future__ import annotations

import time

from gateway.store.idempotency import new_start_id
from tests.support.servers import wait_until


def test_a_later_start_id_sorts_after_an_earlier_one_and_none_repeats() -> None:
    first = new_start_id("gst_")
    started = time.time_ns() // 1_000_000
    wait_until(lambda: time.time_ns() // 1_000_000 > started, timeout=1, interval=0.0005)
    later = [new_start_id("gst_") for _ in range(1000)]
    assert all(first < other for other in later)
    assert len(set(later)) == len(later)
    assert all(s.startswith("gst_") and len(s) <= 64 for s in [first, *later])  # the column
