"""The retry policy: capped full-jitter backoff, and Retry-After in both of its forms."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from gateway.http.retry_after import parse_retry_after
from gateway.oneinbox.retry import RetryPolicy

NOW = datetime(2026, 6, 1, 10, 0, 0, tzinfo=UTC)


def test_retry_after_as_seconds_or_http_date() -> None:
    assert parse_retry_after("1") == 1.0
    assert parse_retry_after(" 2.5 ") == 2.5
    assert parse_retry_after("Mon, 01 Jun 2026 10:00:30 GMT", now=NOW) == 30.0
    assert parse_retry_after("Mon, 01 Jun 2026 09:59:00 GMT", now=NOW) == 0.0  # in the past
    for unusable in (None, "", "soon", "nan"):
        assert parse_retry_after(unusable) is None
    assert parse_retry_after("-3") == 0.0


def test_backoff_is_full_jitter_and_capped() -> None:
    policy = RetryPolicy(base=0.5, cap=4.0, rng=random.Random(7))
    for attempt in range(10):
        for _ in range(50):
            assert 0 <= policy.backoff(attempt) <= min(4.0, 0.5 * 2**attempt)
    assert len({round(policy.backoff(3), 6) for _ in range(20)}) > 1  # jittered


def test_a_server_retry_after_wins_but_is_capped() -> None:
    policy = RetryPolicy(retry_after_cap=60)
    assert policy.delay(0, 1.0) == 1.0
    assert policy.delay(5, 3600.0) == 60.0
    assert 0 <= policy.delay(0, None) <= 0.5
