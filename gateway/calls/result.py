"""`CallResult`: built once when a call is over, stored, and handed to every destination."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from gateway.calls.commands import Origin
from gateway.oneinbox.models import Call
from gateway.phone import mask

# The outcome of an outbound call that never reached a person, when the analysis has none
# (it is written after the end, and the gateway delivers a failed call at once).
UNANSWERED_OUTCOMES = {
    "no_answer": "Not Connected",
    "busy": "Not Connected",
    "invalid_number": "Not Connected",
    "voicemail": "Voicemail",
}


class ResultMessage(BaseModel):
    role: str
    content: str


class CallResult(BaseModel):
    """The contract every destination receives (its JSON is the callback payload)."""

    call_id: str
    agent_id: str
    agent_name: str | None = None
    status: str
    duration_seconds: float | None = None
    outcome: str | None = None
    summary: str | None = None
    messages: list[ResultMessage] = Field(default_factory=list)
    recording_url: str | None = None
    end_reason: str | None = None
    origin: Origin
    started_at: datetime | None = None
    ended_at: datetime | None = None
    analysis_missing: bool = False  # delivered without waiting any longer for the analysis
    type: Literal["web", "outbound"] = "web"
    to_number: str | None = None  # outbound calls: the number dialled (E.164)
    from_number: str | None = None  # outbound calls: the caller id, when OneInbox says it

    @property
    def event_type(self) -> str:
        """`call.completed` or `call.failed`, the callback's `type`."""
        return "call.failed" if self.status == "failed" else "call.completed"

    @property
    def masked_to_number(self) -> str | None:
        """The number dialled, last four digits only (what Slack and lists show)."""
        return mask(self.to_number)

    @classmethod
    def from_call(
        cls,
        call: Call,
        *,
        origin: Origin,
        agent_name: str | None = None,
        call_type: str | None = None,
        to_number: str | None = None,
    ) -> CallResult:
        """Build the result from the upstream record; works without analysis too.

        `call_type` and `to_number` are what the gateway stored when it started the call;
        they win over the record (which may leave them out).
        """
        analysis = call.analysis
        outcome = analysis.outcome if analysis else None
        outbound = (call_type or call.type) == "outbound"
        if outcome is None and outbound and (call.status or "").lower() == "failed":
            outcome = UNANSWERED_OUTCOMES.get((call.end_reason or "").lower())
        return cls(
            call_id=call.id,
            agent_id=call.agent_id or "",
            agent_name=agent_name,
            status=call.status or "completed",
            duration_seconds=call.duration_seconds,
            outcome=outcome,
            summary=(analysis.summary if analysis else None) or getattr(call, "ai_summary", None),
            messages=[ResultMessage(role=m.role, content=m.content) for m in call.messages or []],
            recording_url=call.recording_url,
            end_reason=call.end_reason,
            origin=origin,
            started_at=call.started_at,
            ended_at=call.ended_at,
            analysis_missing=analysis is None,
            type="outbound" if outbound else "web",
            to_number=(to_number or call.to_number) if outbound else None,
            from_number=call.from_number if outbound else None,
        )
