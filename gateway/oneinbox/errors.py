"""The error family of the OneInbox client.

Every failure of a OneInbox request surfaces as a subclass of `OneInboxError`. The message is
meant for a person ("OneInbox refused the API key (401): check ONEINBOX_API_KEY"); the
attributes are meant for code. No message, body or detail ever contains the API key: the
client scrubs it before an error is built.
"""

from __future__ import annotations

import json
from typing import Any

BODY_LIMIT = 2000


class OneInboxError(Exception):
    """A OneInbox request failed.

    Attributes:
        status_code: the HTTP status, or None when no answer arrived.
        body: the raw response text, truncated to a couple of kilobytes.
        detail: the human part of the error body (`{"detail": ...}`), when there is one.
        endpoint: the endpoint template, e.g. ``GET /v1/calls/{id}``.
        may_have_arrived: True when a creating request may have taken effect upstream (no
            answer after it was sent, a 5xx, or an answer that could not be read); False
            when OneInbox certainly did nothing.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        body: str = "",
        detail: str | None = None,
        endpoint: str | None = None,
        may_have_arrived: bool = False,
    ) -> None:
        super().__init__(message)
        self.may_have_arrived = may_have_arrived
        self.message = message
        self.status_code = status_code
        self.body = body[:BODY_LIMIT]
        self.detail = detail
        self.endpoint = endpoint

    def __str__(self) -> str:
        return self.message


class AuthenticationError(OneInboxError):
    """OneInbox refused the API key (401) or its permissions (403)."""


class NotFoundError(OneInboxError):
    """The agent, model, call or webhook does not exist (404)."""


class ValidationError(OneInboxError):
    """OneInbox rejected the request's content (400 or 422)."""


class RateLimitedError(OneInboxError):
    """OneInbox kept answering 429 after every retry.

    `retry_after` is the last `Retry-After` the server sent, in seconds, when it sent one.
    """

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class UpstreamUnavailableError(OneInboxError):
    """OneInbox answered 5xx, timed out or could not be reached, after every retry."""


def parse_detail(body: str) -> str | None:
    """The readable part of an error body, or None.

    Understands ``{"detail": "..."}``, ``{"detail": [{"msg": ..., "loc": [...]}]}``,
    ``{"error": {"message": ...}}`` and ``{"message": ...}``; anything else gives None.
    """
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    for key in ("detail", "error", "message"):
        if key in data:
            text = _detail_text(data[key])
            if text:
                return text
    return None


def _detail_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        parts = [_item_text(item) for item in value]
        joined = "; ".join(part for part in parts if part)
        return joined or None
    if isinstance(value, dict):
        for key in ("message", "msg", "detail"):
            if isinstance(value.get(key), str):
                return str(value[key])
    return None


def _item_text(item: Any) -> str:
    if not isinstance(item, dict):
        return str(item)
    msg = str(item.get("msg") or item.get("message") or "")
    loc = item.get("loc")
    if isinstance(loc, list) and loc:
        where = ".".join(str(part) for part in loc if part != "body")
        if where:
            return f"{where}: {msg}"
    return msg
