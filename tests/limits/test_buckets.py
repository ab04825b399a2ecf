"""The one token bucket behind the hooks', join routes' and tracker's budgets."""

from __future__ import annotations

import asyncio
import time

import pytest

from gateway.calls.budget import UpstreamBudget
from gateway.limits.buckets import TokenBucket


def test_a_bucket_allows_its_burst_then_says_how_long_to_wait() -> None:
    bucket = TokenBucket(2.0, 0.5, now=100.0)
    assert bucket.take(100.0) == 0.0
    assert bucket.take(100.0) == 0.0
    assert bucket.take(100.0) == pytest.approx(2.0)  # one token takes 2 s at 0.5/s
    assert bucket.take(101.0) == pytest.approx(1.0)  # a wait spends nothing
    assert bucket.take(102.0) == 0.0
    assert bucket.take(200.0) == 0.0  # refilled, never past its capacity
    assert bucket.take(200.0) == 0.0
    assert bucket.take(200.0) > 0


def test_an_emptied_bucket_gives_nothing_before_the_time_then_refills_from_empty() -> None:
    bucket = TokenBucket(5.0, 1.0, now=0.0)
    bucket.empty_until(10.0)
    assert bucket.take(4.0) == pytest.approx(7.0)  # 6 s of pause, then 1 s for one token
    bucket.empty_until(8.0)  # an earlier end does not shorten the pause
    assert bucket.take(10.0) == pytest.approx(1.0)
    assert bucket.take(11.0) == 0.0
    assert bucket.take(11.0) > 0


def test_a_paused_upstream_budget_holds_every_taker() -> None:
    async def run() -> float:
        budget = UpstreamBudget(100.0, burst=3)
        await budget.take()
        budget.pause(0.2)
        started = time.monotonic()
        await budget.take()
        return time.monotonic() - started

    assert asyncio.run(run()) >= 0.2
