"""What a caller of the gateway hears when OneInbox said no (the admin API, the dashboard, hooks).

One answer for each kind of failure, whoever asked. A temporarily unavailable upstream is
503 with `Retry-After` when OneInbox rate limits the gateway (the caller retries later), 502
when it failed otherwise. The message never carries the API key (the redactor scrubs it).
"""

from __future__ import annotations

import structlog

from gateway.http.errors import HTTPProblem
from gateway.http.retry_after import retry_after_header
from gateway.oneinbox.errors import (
    AuthenticationError,
    NotFoundError,
    OneInboxError,
    RateLimitedError,
    UpstreamUnavailableError,
    ValidationError,
)

log = structlog.get_logger(__name__)


def upstream_problem(exc: OneInboxError) -> HTTPProblem:
    """A OneInbox failure as an answer the caller (or the gateway's operator) can act on."""
    if isinstance(exc, AuthenticationError):
        log.error("upstream.auth", status=exc.status_code)
        return HTTPProblem(
            502,
            "upstream_auth",
            "OneInbox refused the gateway's API key; the gateway's operator must check "
            "ONEINBOX_API_KEY",
        )
    if isinstance(exc, RateLimitedError):
        seconds = exc.retry_after if exc.retry_after is not None else 1.0
        return HTTPProblem(
            503,
            "upstream_rate_limited",
            "OneInbox is rate limiting the gateway; retry later",
            headers={"Retry-After": retry_after_header(seconds)},
        )
    if isinstance(exc, NotFoundError):
        return HTTPProblem(404, "upstream_not_found", exc.message)
    if isinstance(exc, ValidationError):
        return HTTPProblem(422, "upstream_rejected", f"OneInbox rejected the request: {exc}")
    if isinstance(exc, UpstreamUnavailableError):
        log.warning("upstream.unavailable", error=str(exc))
        return HTTPProblem(502, "upstream_unavailable", f"OneInbox is unavailable: {exc}")
    log.error("upstream.error", error=str(exc))
    return HTTPProblem(502, "upstream_error", f"OneInbox answered with an error: {exc}")
