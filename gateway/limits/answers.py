"""How an HTTP origin (hooks, the admin API) answers a call over a limit."""

from __future__ import annotations

from gateway.http.errors import HTTPProblem
from gateway.http.retry_after import retry_after_header
from gateway.limits.policy import LimitReached


def limit_problem(reached: LimitReached) -> HTTPProblem:
    """`429 limit_reached` with `Retry-After` (seconds until the limit frees up) and a message
    naming the limit, whose it is and when it resets."""
    return HTTPProblem(
        429,
        "limit_reached",
        reached.describe(),
        headers={"Retry-After": retry_after_header(reached.retry_after)},
    )
