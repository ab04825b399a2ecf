"""How a failed OneInbox request becomes a `OneInboxError` the caller can act on: the error
type for the status, a message that says what to check, and the API key scrubbed out."""

from __future__ import annotations

from typing import Any, TypeVar

import httpx
import pydantic

from gateway.http.retry_after import parse_retry_after
from gateway.oneinbox.errors import (
    AuthenticationError,
    NotFoundError,
    OneInboxError,
    RateLimitedError,
    UpstreamUnavailableError,
    ValidationError,
    parse_detail,
)
from gateway.oneinbox.retry import certainly_not_sent
from gateway.oneinbox.transport import Reply
from gateway.validation import problems

M = TypeVar("M", bound=pydantic.BaseModel)

_REDACTED = "[redacted]"


def scrub(text: str, secret: str) -> str:
    """`text` without `secret` (an upstream echoing the API key must not put it in a log)."""
    if secret:
        text = text.replace(secret, _REDACTED)
    return text


def error_from(
    endpoint: str,
    response: Reply,
    attempts: int,
    *,
    secret: str,
    creates: bool = False,
) -> OneInboxError:
    """The error for an answer with a status of 400 or more."""
    status = response.status_code
    body = scrub(response.text, secret)
    detail = parse_detail(body)
    kwargs: dict[str, Any] = {
        "status_code": status,
        "body": body,
        "detail": detail,
        "endpoint": endpoint,
    }
    said = f": {detail}" if detail else ""
    if status in (401, 403):
        return AuthenticationError(
            f"OneInbox refused the API key ({status}) on {endpoint}: check ONEINBOX_API_KEY{said}",
            **kwargs,
        )
    if status == 404:
        return NotFoundError(f"OneInbox found nothing at {endpoint} (404){said}", **kwargs)
    if status in (400, 422):
        return ValidationError(
            f"OneInbox rejected the request to {endpoint} ({status}){said}", **kwargs
        )
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        hint = f"; it asks to wait {retry_after:g} s" if retry_after is not None else ""
        return RateLimitedError(
            f"OneInbox is rate limiting {endpoint} (429) after {attempts} attempt(s){hint}",
            retry_after=retry_after,
            **kwargs,
        )
    if status >= 500:
        return UpstreamUnavailableError(
            f"OneInbox is unavailable ({status}) for {endpoint} "
            f"after {attempts} attempt(s){said}{_maybe_created(creates)}",
            may_have_arrived=creates,
            **kwargs,
        )
    return OneInboxError(f"OneInbox answered {status} to {endpoint}{said}", **kwargs)


def unreachable(
    base_url: str,
    endpoint: str,
    exc: httpx.TransportError,
    attempts: int,
    *,
    secret: str,
    creates: bool = False,
) -> UpstreamUnavailableError:
    """The error for a request that got no answer (no connection, a timeout, a reset)."""
    kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "could not be reached"
    reason = scrub(str(exc), secret) or type(exc).__name__
    maybe = creates and not certainly_not_sent(exc)
    return UpstreamUnavailableError(
        f"OneInbox at {base_url} {kind} for {endpoint} after {attempts} attempt(s) "
        f"({type(exc).__name__}: {reason}); check ONEINBOX_BASE_URL and the network"
        f"{_maybe_created(maybe)}",
        endpoint=endpoint,
        detail=reason,
        may_have_arrived=maybe,
    )


def bad_answer(endpoint: str, why: str) -> OneInboxError:
    """The error for a successful answer the client cannot read."""
    return OneInboxError(
        f"OneInbox sent an unexpected answer to {endpoint}: {why}", endpoint=endpoint
    )


def parse(model: type[M], data: Any, endpoint: str) -> M:
    """`data` as `model`, or a `OneInboxError` naming what did not fit."""
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        raise OneInboxError(
            f"OneInbox sent an unexpected answer to {endpoint}: {problems(exc)}",
            endpoint=endpoint,
        ) from None


def _maybe_created(possible: bool) -> str:
    if not possible:
        return ""
    return "; the request may have reached OneInbox, so it was not re-sent (check before retrying)"
