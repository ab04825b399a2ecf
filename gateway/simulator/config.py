"""The simulator's knobs: who may call it, how calls unfold, and which faults to inject."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

# Who picks up an outbound phone call in the simulator.
Pickup = Literal["human", "voicemail", "no_answer", "busy", "invalid_number"]


class SimulatorConfig(BaseModel):
    """Settings of a simulated OneInbox; changeable at run time with ``PATCH /_sim/config``.

    Faults (``latency_seconds``, ``error_rate_5xx``, ``rate_429``) apply to ``/v1/*`` only,
    never to the ``/_sim/*`` control endpoints or the ``/rtc`` sockets.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    api_keys: list[str] | None = Field(
        default=None,
        description="Accepted API keys; None accepts any key that starts with `oi_sk_`.",
    )
    public_url: str | None = Field(
        default=None,
        description="Base URL browsers use to reach the simulator (server_url = it, http->ws); "
        "None derives it from each request, including a mount path.",
    )
    latency_seconds: float = Field(default=0.0, ge=0, le=60)
    error_rate_5xx: float = Field(default=0.0, ge=0, le=1, description="Share of 500/502/503.")
    error_statuses: list[int] = Field(
        default=[500, 502, 503],
        min_length=1,
        description="Statuses an injected 5xx fault picks from.",
    )
    rate_429: float = Field(default=0.0, ge=0, le=1, description="Share of 429 answers.")
    retry_after_seconds: float = Field(default=1.0, ge=0, le=3600)
    analysis_delay: float = Field(
        default=2.0, ge=0, description="Seconds between a call's end and its messages/analysis."
    )
    auto_live_after: float | None = Field(
        default=None, ge=0, description="Seconds until a call goes in_progress by itself."
    )
    max_duration_seconds: float | None = Field(
        default=None, gt=0, description="End live calls after this long (end_reason max_duration)."
    )
    end_on_disconnect: bool = Field(
        default=False, description="End a live call when its last rtc socket closes."
    )
    token_ttl_seconds: int = Field(default=900, gt=0, le=86400)
    webhook_timeout_seconds: float = Field(default=3.0, gt=0, le=30)
    webhook_retries: int = Field(default=2, ge=0, le=5)
    seed: int = 0
    outcome: str | None = Field(
        default=None,
        description="Give every joined call this outcome's canned conversation and analysis "
        "(one of the canned outcomes; None picks one per call).",
    )
    transcript_events: bool = Field(
        default=False,
        description="While a call is live, speak its scripted conversation as "
        "`transcript.partial` / `transcript.final` events (a few words per step).",
    )
    transcript_step_seconds: float = Field(default=0.3, gt=0, le=10)
    record_calls: bool = Field(
        default=False,
        description="Record every joined call (otherwise only agents with enable_recording).",
    )
    recording_delay: float = Field(
        default=0.5, ge=0, description="Seconds after the end until the recording is ready."
    )
    recording_url_ttl_seconds: float = Field(
        default=300, gt=0, le=86400, description="Lifetime of each signed recording_url."
    )
    phone_pickup: Pickup = Field(
        default="human",
        description="How an outbound call ends: a person answers, voicemail answers, it rings "
        "out (no_answer), the line is busy, or the carrier refuses the number.",
    )
    phone_numbers: dict[str, Pickup] = Field(
        default_factory=dict, description="`phone_pickup` for particular E.164 numbers."
    )
    phone_dial_seconds: float = Field(
        default=0.5, ge=0, description="Seconds an outbound call stays queued before it rings."
    )
    phone_answer_after: float = Field(
        default=2.0, ge=0, description="Seconds of ringing before a person or voicemail answers."
    )
    phone_ring_timeout: float = Field(
        default=20.0, gt=0, description="Seconds of ringing before a call nobody answers fails."
    )
    phone_hangup_after: float | None = Field(
        default=6.0,
        gt=0,
        description="Seconds after answering that the person hangs up; None: stays on the line.",
    )

    @field_validator("error_statuses")
    @classmethod
    def _server_errors(cls, value: list[int]) -> list[int]:
        if any(not 500 <= status <= 599 for status in value):
            raise ValueError("error_statuses must be 5xx codes")
        return value
