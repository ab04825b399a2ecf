"""The retry schedule: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, with jitter."""

from __future__ import annotations

import random

from gateway.delivery.schedule import MAX_ATTEMPTS, RetrySchedule

EXPECTED = [5, 300, 1800, 7200, 18000, 36000, 36000]


def test_the_delays_follow_the_schedule_within_the_jitter() -> None:
    schedule = RetrySchedule(rng=random.Random(1))
    for attempts, base in enumerate(EXPECTED, start=1):
        for _ in range(50):
            assert 0.8 * base <= schedule.delay(attempts) <= 1.2 * base
    assert MAX_ATTEMPTS == 8
    assert not schedule.exhausted(7) and schedule.exhausted(8)


def test_jitter_spreads_retries() -> None:
    schedule = RetrySchedule(rng=random.Random(2))
    assert len({round(schedule.delay(2), 3) for _ in range(20)}) > 10


def test_retry_after_is_honoured_when_longer_and_capped_at_a_day() -> None:
    schedule = RetrySchedule(rng=random.Random(3))
    assert schedule.delay(1, retry_after=120) == 120
    assert schedule.delay(3, retry_after=1) >= 1800 * 0.8
    assert schedule.delay(1, retry_after=10**9) == 86400


def test_scale_shrinks_the_whole_schedule_for_tests() -> None:
    schedule = RetrySchedule(scale=0.001, rng=random.Random(4))
    assert schedule.delay(7) <= 36000 * 0.001 * 1.2
