"""The admin API's request and response bodies; their JSON schemas feed `/openapi.json`."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    """Every error: `{"error": {"code", "message"}}`."""

    error: ErrorDetail


class CallbackTarget(BaseModel):
    """Where to POST the result (Standard Webhooks), signed with the secret in `secret_env`."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=2000, description="https URL of the receiver")
    secret_env: str | None = Field(
        default=None,
        pattern=r"^[A-Z_][A-Z0-9_]{0,127}$",
        description="name of the environment variable holding the whsec_ secret",
    )


class StartCallRequest(BaseModel):
    """`POST /api/calls`: start a web call with an agent (id or known name)."""

    model_config = ConfigDict(extra="forbid")

    agent: str = Field(
        min_length=1,
        max_length=200,
        examples=["sales"],
        description="an agent id (agt_…), a name the gateway knows, or a configured alias",
    )
    variables: dict[str, str | int | float | bool] = Field(
        default_factory=dict, examples=[{"customer_name": "Ada"}]
    )
    metadata: dict[str, str | int | float | bool] = Field(default_factory=dict)
    callback: CallbackTarget | None = None


class StartedCallBody(BaseModel):
    call_id: str
    agent_id: str
    agent_name: str | None
    join_url: str
    join_expires_at: str
    status: str = "started"
    status_url: str


class CallSummary(BaseModel):
    id: str
    agent_id: str
    agent_name: str | None
    type: Literal["web", "outbound"] = Field(
        default="web", description="`web` (join link) or `outbound` (a phone call)"
    )
    to_number: str | None = Field(
        default=None, description="outbound calls: the number dialled, last four digits only"
    )
    state: str
    upstream_status: str | None
    origin_kind: str
    origin_name: str
    outcome: str | None
    duration_seconds: float | None
    created_at: datetime
    ended_at: datetime | None


class CallPage(BaseModel):
    calls: list[CallSummary]
    limit: int
    offset: int


class CallEvent(BaseModel):
    from_state: str | None
    to_state: str
    detail: str | None
    at: datetime


def _fingerprints(value: object) -> object:
    return [] if value is None else value


class DeliveryAttemptView(BaseModel):
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int | None
    signed_by: list[str] = Field(
        default_factory=list,
        description="fingerprints (whsec:…) of the secrets that signed this try, never the "
        "secrets; several during a rotation",
    )

    _no_fingerprints = field_validator("signed_by", mode="before")(_fingerprints)


class DeliveryView(BaseModel):
    id: str
    call_id: str
    destination: str
    destination_key: str
    state: str
    attempts: int
    next_attempt_at: datetime | None
    last_status: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    signed_by: list[str] = Field(
        default_factory=list, description="fingerprints of the secrets that signed the last try"
    )


class DeliveryDetail(DeliveryView):
    history: list[DeliveryAttemptView] = Field(default_factory=list)


class CallDetail(CallSummary):
    origin_context: dict[str, Any]
    last_error: str | None
    live_at: datetime | None
    result: dict[str, Any] | None
    events: list[CallEvent]
    deliveries: list[DeliveryDetail]


class DeliveryPage(BaseModel):
    deliveries: list[DeliveryView]
    limit: int
    offset: int


class StopAccepted(BaseModel):
    call_id: str
    status: str = "stop_requested"


class ReplayAccepted(BaseModel):
    delivery_id: str
    state: str
    next_attempt_at: datetime | None


class DestinationView(BaseModel):
    """One place results go (a destination kind and its target) and its health."""

    id: str = Field(description="dst_…, stable for (destination, target)")
    destination: str
    target: str = Field(description="the URL without its query string, the channel, …")
    status: str = Field(description="ok, failing (no success since failing_since) or disabled")
    failing_since: datetime | None
    last_success_at: datetime | None
    last_failure_at: datetime | None
    last_error: str | None
    disabled_at: datetime | None
    disabled_reason: str | None
    held: int = Field(description="deliveries held until the destination is enabled")


class DestinationPage(BaseModel):
    destinations: list[DestinationView]
    disable_after_seconds: float | None = Field(
        description="a destination failing this long without a success is disabled"
    )


class EnableAccepted(BaseModel):
    destination_id: str
    was_disabled: bool
    released: int = Field(description="held deliveries now due")


class SendTestEventRequest(BaseModel):
    """`POST /api/destinations/test`: a callback URL that no delivery went to yet."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=2000)
    secret_env: str | None = Field(default=None, pattern=r"^[A-Z_][A-Z0-9_]{0,127}$")


class SentTestEvent(BaseModel):
    """How the receiver answered a signed `webhook.test` event."""

    ok: bool
    target: str
    webhook_id: str
    status_code: int | None
    error: str | None
    duration_ms: int
    signed_by: list[str]
