"""The admin API's request and response bodies; their JSON schemas feed `/openapi.json`."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


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


class DeliveryAttemptView(BaseModel):
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int | None


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
