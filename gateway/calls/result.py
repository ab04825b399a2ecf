"""`CallResult`: built once when a call is over, stored, and handed to every destination."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from gateway.oneinbox.models import Call


class ResultOrigin(BaseModel):
    kind: str
    name: str
    context: dict[str, Any] = Field(default_factory=dict)


class ResultMessage(BaseModel):
    role: str
    content: str


class CallResult(BaseModel):
    """The contract every destination receives (DESIGN.md)."""

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
    origin: ResultOrigin
    started_at: datetime | None = None
    ended_at: datetime | None = None
    analysis_missing: bool = False  # delivered without waiting any longer for the analysis

    @property
    def event_type(self) -> str:
        """`call.completed` or `call.failed`, the callback's `type`."""
        return "call.failed" if self.status == "failed" else "call.completed"

    @classmethod
    def from_call(
        cls, call: Call, *, origin: ResultOrigin, agent_name: str | None = None
    ) -> CallResult:
        """Build the result from the upstream record; works without analysis too."""
        analysis = call.analysis
        return cls(
            call_id=call.id,
            agent_id=call.agent_id or "",
            agent_name=agent_name,
            status=call.status or "completed",
            duration_seconds=call.duration_seconds,
            outcome=analysis.outcome if analysis else None,
            summary=(analysis.summary if analysis else None) or getattr(call, "ai_summary", None),
            messages=[ResultMessage(role=m.role, content=m.content) for m in call.messages or []],
            recording_url=call.recording_url,
            end_reason=call.end_reason,
            origin=origin,
            started_at=call.started_at,
            ended_at=call.ended_at,
            analysis_missing=analysis is None,
        )
