"""`[slack]` in the gateway config file."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gateway.config import ConfigError, GatewayConfig, describe_error
from gateway.delivery.redact import PersonalData


class SlackOptions(BaseModel):
    """`[slack]` in the gateway config file."""

    model_config = ConfigDict(extra="forbid")

    # Join a public channel by itself (scope channels:join) instead of asking to be invited.
    auto_join: bool = True
    # Requests to OneInbox in flight at once for Slack commands (each may take seconds); as
    # many commands again get ready meanwhile, the rest queue.
    max_concurrent_work: int = Field(default=200, ge=1, le=10_000)
    # Commands waiting for a turn; past this, new commands are turned away politely.
    max_waiting_work: int = Field(default=1000, ge=0, le=100_000)
    # Show every call's transcript in its thread while it runs (per call: `live=yes|no`).
    live_transcript: bool = False
    # Personal data masked in the results of calls started from Slack (phone, email, card).
    redact: list[PersonalData] = Field(default_factory=list)


def slack_options(config: GatewayConfig) -> SlackOptions:
    """`[slack]`, validated; a wrong key raises `ConfigError` naming it."""
    try:
        return SlackOptions.model_validate(config.table("slack"))
    except ValidationError as exc:
        raise ConfigError(describe_error(config.path or "config", "slack", exc)) from None
