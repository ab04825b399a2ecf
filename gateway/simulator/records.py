"""A simulated call as the simulator keeps it, and the small helpers its answers share."""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gateway.simulator.speech import signed_recording_url

TERMINAL = frozenset({"completed", "failed"})
# What the analysis of an outbound call nobody talked to says.
UNANSWERED_SUMMARIES = {
    "no_answer": "Nobody answered; the call did not connect.",
    "voicemail": "Reached voicemail; the call did not connect to a person.",
    "busy": "The line was busy; the call did not connect.",
    "invalid_number": "The carrier refused the number; the call did not connect.",
}


def iso(ts: float | None) -> str | None:
    """An epoch time as ISO 8601 UTC with a ``Z``, as OneInbox writes it."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_id(prefix: str) -> str:
    """A fresh resource id like ``call_3f2a…``."""
    return f"{prefix}_{secrets.token_hex(8)}"


def title_case(outcome: str) -> str:
    """``appointment booked`` -> ``Appointment Booked``."""
    return " ".join(word.capitalize() for word in outcome.strip().split())


@dataclass
class CallRecord:
    """A simulated call and the timers and sockets attached to it."""

    id: str
    agent_id: str
    room_name: str
    server_url: str
    participant_token: str = field(repr=False)
    variables: dict[str, Any]
    metadata: dict[str, Any]
    overrides: dict[str, Any]
    created_at: float = field(default_factory=time.time)
    status: str = "initiated"
    started_at: float | None = None
    ended_at: float | None = None
    end_reason: str | None = None
    messages: list[dict[str, str]] = field(default_factory=list)
    analysis: dict[str, Any] | None = None
    outcome_override: str | None = None
    scripted: tuple[str | None, str | None] | None = None
    # The conversation spoken live (transcript events): turns said so far, the one in progress.
    script: list[dict[str, str]] | None = None
    spoken: list[dict[str, str]] = field(default_factory=list)
    recorded: bool = False
    type: str = "web"
    to_number: str | None = None
    from_number: str | None = None
    timers: dict[str, asyncio.TimerHandle] = field(default_factory=dict, repr=False)
    sockets: set[asyncio.Event] = field(default_factory=set, repr=False)

    @property
    def is_terminal(self) -> bool:
        """True once completed or failed."""
        return self.status in TERMINAL

    @property
    def duration_seconds(self) -> int | None:
        """Whole seconds between start and end (0 if nobody joined); None while active."""
        if self.ended_at is None:
            return None
        if self.started_at is None:
            return 0
        return round(self.ended_at - self.started_at)

    def public(self) -> dict[str, Any]:
        """The record as ``GET /v1/calls/{id}`` answers it."""
        return {
            "id": self.id,
            "agent_id": self.agent_id,
            "type": self.type,
            "status": self.status,
            "room_name": self.room_name,
            **self.numbers(),
            "variables": self.variables,
            "metadata": self.metadata,
            "started_at": iso(self.started_at),
            "ended_at": iso(self.ended_at),
            "duration_seconds": self.duration_seconds,
            "end_reason": self.end_reason,
            "messages": self.messages,
            "analysis": self.analysis,
            "ai_summary": self.analysis["summary"] if self.analysis else None,
            "recording_url": None,
            "latency": None,
            "credits_used": None if self.duration_seconds is None else self.duration_seconds / 60,
            "cost_cents": None,
            "created_at": iso(self.created_at),
        }

    def with_recording(self, base: str, ttl_seconds: float) -> dict[str, Any]:
        """`public()` with a freshly signed `recording_url` once the recording is ready."""
        data = self.public()
        if self.recorded:
            data["recording_url"] = signed_recording_url(base, self.id, ttl_seconds)
        return data

    def numbers(self) -> dict[str, str | None]:
        """`to_number` and `from_number` of an outbound call; nothing for a web call."""
        if self.type != "outbound":
            return {}
        return {"to_number": self.to_number, "from_number": self.from_number}

    def event(self, name: str) -> dict[str, Any]:
        """The flat webhook payload for event ``name``."""
        return {
            "event": name,
            "call_id": self.id,
            "agent_id": self.agent_id,
            "status": self.status,
            "duration_seconds": self.duration_seconds,
            "outcome": self.analysis["outcome"] if self.analysis else None,
            "summary": self.analysis["summary"] if self.analysis else None,
            "end_reason": self.end_reason,
            "type": self.type,
            "created_at": iso(self.created_at),
            "timestamp": iso(time.time()),
        }
