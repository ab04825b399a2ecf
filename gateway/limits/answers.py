"""How an HTTP origin (hooks, the admin API) answers a call over a limit."""

from __future__ import annotations

import math

from gateway.http.errors import HTTPProblem
from gateway.limits.policy import LimitReached


def limit_problem(reached: LimitReached) -> HTTPProblem:
    """`429 limit_reached` with `Retry-After` (seconds until the limit frees up) and a message
    naming the limit, whose it is and when it resets."""
    seconds = max(1, math.ceil(reached.retry_after))
    return HTTPProblem(
        429, "limit_reached", reached.describe(), headers={"Retry-After": str(seconds)}
    )
