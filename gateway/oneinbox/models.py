"""Typed views of OneInbox's JSON resources.

Tolerant on purpose: unknown fields are kept (``extra="allow"``), every field except the id
may be missing or null, ids may be ``agt_…``-style or UUIDs, and an unparseable timestamp
becomes None rather than an error.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter

TERMINAL_STATUSES = frozenset({"completed", "failed"})

_datetime = TypeAdapter(datetime)


def _lenient_datetime(value: Any) -> Any:
    if value is None or value == "" or isinstance(value, datetime):
        return value or None
    try:
        return _datetime.validate_python(value)
    except ValueError:
        return None


def _none_to_list(value: Any) -> Any:
    return [] if value is None else value


Timestamp = Annotated[datetime | None, BeforeValidator(_lenient_datetime)]


class OneInboxModel(BaseModel):
    """Base of every resource: keeps unknown fields."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Agent(OneInboxModel):
    """A voice agent (``agt_…``); ``llm_id`` names its model."""

    id: str
    name: str | None = None
    llm_id: str | None = None
    language: str | None = None
    first_message: str | None = None
    max_duration_seconds: float | None = None
    webhook_id: str | None = None
    created_at: Timestamp = None


class Model(OneInboxModel):
    """An agent's model ("LLM", ``llm_…``): prompt, provider, temperature."""

    id: str
    name: str | None = None
    provider: str | None = None
    model: str | None = None
    system_prompt: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    tool_ids: list[str] | None = None
    knowledge_base_ids: list[str] | None = None


class WebCall(OneInboxModel):
    """A started web call: where a browser connects (``server_url``) and with which token."""

    id: str
    agent_id: str | None = None
    type: str | None = None
    status: str | None = None
    room_name: str | None = None
    server_url: str | None = None
    participant_token: str | None = Field(default=None, repr=False)
    created_at: Timestamp = None


class Message(OneInboxModel):
    """One turn of a transcript (``role`` is e.g. ``agent`` or ``user``)."""

    role: str | None = None
    content: str | None = None


class Analysis(OneInboxModel):
    """OneInbox's post-call analysis; ``outcome`` may be null or any string."""

    outcome: str | None = None
    summary: str | None = None


class Call(OneInboxModel):
    """A call record as ``GET /v1/calls/{id}`` returns it."""

    id: str
    agent_id: str | None = None
    type: str | None = None
    status: str | None = None
    room_name: str | None = None
    to_number: str | None = None  # outbound phone calls (E.164)
    from_number: str | None = None
    variables: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    started_at: Timestamp = None
    ended_at: Timestamp = None
    duration_seconds: float | None = None
    end_reason: str | None = None
    messages: Annotated[list[Message], BeforeValidator(_none_to_list)] = Field(default_factory=list)
    analysis: Analysis | None = None
    ai_summary: str | None = None
    recording_url: str | None = None
    created_at: Timestamp = None

    @property
    def is_terminal(self) -> bool:
        """True once the call is ``completed`` or ``failed``."""
        return (self.status or "").lower() in TERMINAL_STATUSES

    @property
    def has_analysis(self) -> bool:
        """True once OneInbox has written the analysis (an outcome or a summary)."""
        if self.analysis is not None and (self.analysis.outcome or self.analysis.summary):
            return True
        return bool(self.ai_summary)

    @property
    def outcome(self) -> str | None:
        """The analysed outcome, if any."""
        return self.analysis.outcome if self.analysis else None

    @property
    def summary(self) -> str | None:
        """The analysed summary, falling back to ``ai_summary``."""
        if self.analysis is not None and self.analysis.summary:
            return self.analysis.summary
        return self.ai_summary


class CallPage(OneInboxModel):
    """One page of ``GET /v1/calls``."""

    items: Annotated[list[Call], BeforeValidator(_none_to_list)] = Field(default_factory=list)
    total: int | None = None
    limit: int | None = None
    offset: int | None = None


class Webhook(OneInboxModel):
    """A webhook registration; ``secret`` is only present in the create answer."""

    id: str
    name: str | None = None
    url: str | None = None
    events: Annotated[list[str], BeforeValidator(_none_to_list)] = Field(default_factory=list)
    secret: str | None = Field(default=None, repr=False)
    created_at: Timestamp = None
