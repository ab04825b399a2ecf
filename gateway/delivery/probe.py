""" "Send a test event": one signed `webhook.test` POST to a callback URL, its answer shown.

The event goes through exactly what a real result goes through (the SSRF guard, the
signatures of every secret in the destination's `secret_env`, no redirects, the same
timeout), so a receiver that accepts it will accept results. Nothing is queued or retried:
the operator sees the answer at once. Shared by the dashboard, `oneinbox-gateway
destinations test` and `POST /api/destinations/{id}/test`.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import structlog
from pydantic import BaseModel, Field

from gateway.delivery.callback import CallbackDestination
from gateway.delivery.health import UnknownEndpointError, public_target
from gateway.store.database import Database
from gateway.store.deliveries import DeliveryRepository
from gateway.store.endpoints import EndpointRepository
from gateway.store.tables import utcnow

log = structlog.get_logger(__name__)

TEST_EVENT_TYPE: Literal["webhook.test"] = "webhook.test"


class NotACallbackError(ValueError):
    """Test events go to callback URLs only."""


@dataclass(frozen=True)
class CallbackTarget:
    url: str
    secret_env: str | None


@dataclass(frozen=True)
class ProbeResult:
    """How the receiver answered the test event."""

    ok: bool
    target: str  # the URL without its query string
    webhook_id: str
    status_code: int | None
    error: str | None
    duration_ms: int
    signed_by: tuple[str, ...]

    def describe(self) -> str:
        """One line for a person."""
        answer = f"answered {self.status_code}" if self.status_code is not None else "no answer"
        verdict = "accepted" if self.ok else f"FAILED ({self.error or answer})"
        signed = ", ".join(self.signed_by) or "unsigned (no secret_env)"
        return (
            f"test event {self.webhook_id} to {self.target}: {verdict}, {answer} "
            f"in {self.duration_ms} ms, signed by {signed}"
        )


class TestEventData(BaseModel):
    message: str
    id: str = Field(description="the event's webhook-id (msg_test_…)")
    sent_by: str = Field(description="dashboard, cli or admin-api")


class TestEvent(BaseModel):
    """The body of a test event (the `testEvent` webhook in OpenAPI)."""

    type: Literal["webhook.test"]
    timestamp: str
    data: TestEventData


def webhook_test_body(msg_id: str, now: datetime, *, by: str) -> bytes:
    """`{"type": "webhook.test", "timestamp", "data": {...}}`: what a receiver gets."""
    event = TestEvent(
        type=TEST_EVENT_TYPE,
        timestamp=now.isoformat().replace("+00:00", "Z"),
        data=TestEventData(
            message="A test event from OneInbox Gateway: no call is behind it.",
            id=msg_id,
            sent_by=by,
        ),
    )
    return json.dumps(event.model_dump(mode="json"), separators=(",", ":")).encode()


async def endpoint_target(db: Database, endpoint: str) -> CallbackTarget:
    """The URL and secret variable of a known callback endpoint, as its newest delivery
    names them. Raises `UnknownEndpointError` or `NotACallbackError`."""
    async with db.session() as session:
        row = await EndpointRepository(session).get(endpoint)
        if row is None:
            raise UnknownEndpointError(endpoint)
        if row.destination != "callback":
            raise NotACallbackError(
                f"destination {endpoint} is {row.destination}; test events go to callback URLs"
            )
        newest = await DeliveryRepository(session).newest_config(
            row.destination, row.destination_key
        )
    config = newest or row.config or {}
    secret_env = config.get("secret_env")
    return CallbackTarget(
        url=str(config.get("url") or row.destination_key),
        secret_env=str(secret_env) if secret_env else None,
    )


async def send_test_event(
    target: CallbackTarget, *, allow_private: bool, by: str, timeout: float | None = None
) -> ProbeResult:
    """POST one signed `webhook.test` event to `target` and report the answer."""
    msg_id = "msg_test_" + secrets.token_hex(12)
    body = webhook_test_body(msg_id, utcnow(), by=by)
    callback = (
        CallbackDestination(allow_private=allow_private)
        if timeout is None
        else CallbackDestination(allow_private=allow_private, timeout=timeout)
    )
    started = time.monotonic()
    try:
        outcome = await callback.post(target.url, target.secret_env or "", msg_id, body)
    finally:
        await callback.aclose()
    result = ProbeResult(
        ok=outcome.ok,
        target=public_target("callback", target.url),
        webhook_id=msg_id,
        status_code=outcome.status_code,
        error=outcome.error,
        duration_ms=round((time.monotonic() - started) * 1000),
        signed_by=outcome.signed_by,
    )
    log.info(
        "destination.test_event",
        target=result.target,
        ok=result.ok,
        status=result.status_code,
        error=result.error,
        by=by,
    )
    return result
