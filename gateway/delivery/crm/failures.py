"""CRM HTTP answers as delivery outcomes an admin understands.

- 401/403: the token is wrong or lacks a scope. Dead letter; the message names the
  environment variable and what the token needs. Replay once it is fixed.
- 404: the record (or the object written to) is gone. Dead letter, never retried forever.
- 429: retried no sooner than the CRM asks (`Retry-After`, HubSpot's
  `X-HubSpot-RateLimit-*` and `policyName`, Pipedrive's `x-ratelimit-reset`).
- 5xx, 408, transport errors: retried on the outbox schedule.
- Other 4xx (a property that does not exist, a value the CRM refuses): dead letter with the
  CRM's own message, since the same request would be refused again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from gateway.delivery.registry import DeliveryOutcome
from gateway.http.retry_after import parse_retry_after

# HubSpot's daily limit resets at midnight in the portal's time zone, which the gateway does
# not know: look again in an hour (the schedule may wait longer still).
DAILY_LIMIT_WAIT_SECONDS = 3600.0
MESSAGE_LIMIT = 300


@dataclass(frozen=True)
class AuthHint:
    """How to explain a refused credential: the CRM, the variable, what the token needs."""

    crm: str
    env: str
    needs: str


class CrmFailure(Exception):
    """Raised inside a CRM destination; `outcome` is what the try records."""

    def __init__(self, outcome: DeliveryOutcome) -> None:
        super().__init__(outcome.error)
        self.outcome = outcome


def outcome_of(exc: CrmFailure) -> DeliveryOutcome:
    """The outcome a `CrmFailure` carries."""
    return exc.outcome


def vendor_message(response: httpx.Response) -> str:
    """The CRM's own words from an error body (HubSpot `message`, Pipedrive `error`,
    Salesforce `[{"message"}]`), shortened; the status line when the body has none."""
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    if isinstance(body, list) and body and isinstance(body[0], dict):
        body = body[0]
    text = ""
    if isinstance(body, dict):
        for key in ("message", "error_description", "error", "errorMessage"):
            value = body.get(key)
            if isinstance(value, str) and value:
                text = value
                break
    text = text or (response.reason_phrase or "")
    return text[:MESSAGE_LIMIT]


def _header_seconds(response: httpx.Response, name: str, scale: float = 1.0) -> float | None:
    value = response.headers.get(name)
    if value is None:
        return None
    try:
        seconds = float(value) * scale
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def rate_limit_wait(response: httpx.Response) -> float | None:
    """Seconds a rate-limited CRM asks us to wait, from whichever signal it sent.

    `Retry-After` wins when present. Otherwise HubSpot's daily policy (body `policyName`
    or `X-HubSpot-RateLimit-Daily-Remaining: 0`) waits an hour, its interval limit waits
    `X-HubSpot-RateLimit-Interval-Milliseconds`; Pipedrive's `x-ratelimit-reset` is seconds
    until its window resets. None when the answer says nothing usable.
    """
    explicit = parse_retry_after(response.headers.get("Retry-After"))
    if explicit is not None:
        return explicit
    policy = None
    try:
        body = response.json()
        if isinstance(body, dict):
            policy = body.get("policyName")
    except ValueError:
        pass
    if policy == "DAILY" or response.headers.get("X-HubSpot-RateLimit-Daily-Remaining") == "0":
        return DAILY_LIMIT_WAIT_SECONDS
    waits = [
        _header_seconds(response, "X-HubSpot-RateLimit-Interval-Milliseconds", 0.001),
        _header_seconds(response, "x-ratelimit-reset"),
    ]
    found = [w for w in waits if w is not None]
    return max(found) if found else None


def failure(response: httpx.Response, *, what: str, auth: AuthHint) -> DeliveryOutcome:
    """The outcome of a CRM answer that is not a success; `what` names the object
    (e.g. "contact 51"), `auth` explains a refused token."""
    status = response.status_code
    said = vendor_message(response)
    crm = auth.crm
    if status in (401, 403):
        problem = "refused the token" if status == 401 else "denied access with the token"
        return DeliveryOutcome(
            ok=False,
            status_code=status,
            error=f"{crm} {problem} in {auth.env} ({status}: {said}); it must be {auth.needs}",
            permanent=True,
        )
    if status == 404:
        return DeliveryOutcome(
            ok=False,
            status_code=status,
            error=f"{crm}: {what} not found (deleted or merged?): {said}",
            permanent=True,
        )
    if status == 429:
        return DeliveryOutcome(
            ok=False,
            status_code=status,
            error=f"{crm}: rate limited ({said})",
            retry_after=rate_limit_wait(response),
        )
    if status >= 500 or status == 408:
        return DeliveryOutcome(
            ok=False,
            status_code=status,
            error=f"{crm} answered {status} ({said}); will retry",
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )
    return DeliveryOutcome(
        ok=False,
        status_code=status,
        error=f"{crm} rejected the write to {what} ({status}: {said})",
        permanent=True,
    )


def check(response: httpx.Response, *, what: str, auth: AuthHint) -> httpx.Response:
    """`response` when it is a 2xx; raises `CrmFailure` with its outcome otherwise."""
    if response.is_success:
        return response
    raise CrmFailure(failure(response, what=what, auth=auth))


def transport_failure(exc: httpx.HTTPError, *, crm: str) -> DeliveryOutcome:
    """A request that got no answer: retried on the schedule (the next try is uncertain,
    so the destination looks for its earlier write before creating again)."""
    kind = "timed out" if isinstance(exc, httpx.TimeoutException) else type(exc).__name__
    return DeliveryOutcome(ok=False, error=f"{crm} unreachable: {kind}")
