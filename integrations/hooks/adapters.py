"""Payload adapters: turn one request's raw body into the items that each become one action.

The generic adapter reads one JSON document. Presets register adapters for other shapes (a
Salesforce Outbound Message is SOAP XML holding up to 100 notifications) and may answer the
sender in its own dialect (`<Ack>true</Ack>`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import Response

from gateway.http.body import parse_json, require_json_type


@dataclass(frozen=True)
class Item:
    """One thing to act on: the document mapping sees as `body`, and its own dedupe id."""

    body: Any
    raw: bytes  # what the idempotency fingerprint is taken over
    sender_id: str | None = None  # e.g. a Salesforce Notification Id


@dataclass(frozen=True)
class Answer:
    """The answer to one item: an HTTP status and a JSON body."""

    status: int
    body: dict[str, Any]


class PayloadAdapter(Protocol):
    """Parses a body into items and, optionally, answers the sender in its own dialect."""

    def parse(self, request: Request, raw: bytes) -> list[Item]:
        """The items in the body; raises `HTTPProblem` (400/415/422) for a malformed one."""
        ...

    def acknowledge(self, answers: Sequence[Answer]) -> Response | None:
        """The answer once every item succeeded; None answers the single item's JSON."""
        ...


class JSONAdapter:
    """One JSON document, one action: the generic hook."""

    def parse(self, request: Request, raw: bytes) -> list[Item]:
        """415 unless JSON, 400 unless valid JSON."""
        require_json_type(request)
        return [Item(body=parse_json(raw), raw=raw)]

    def acknowledge(self, answers: Sequence[Answer]) -> Response | None:
        return None
