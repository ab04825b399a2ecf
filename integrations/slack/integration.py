"""`SlackIntegration`: validates `[slack]`, registers the `slack` destination, returns routes."""

from __future__ import annotations

from collections.abc import Sequence

import structlog
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.routing import BaseRoute

from gateway.config import ConfigError, describe_error
from gateway.context import AppContext
from gateway.delivery.redact import PersonalData
from integrations.slack.alerts import disabled_alert
from integrations.slack.bolt_app import build_bolt_app, routes
from integrations.slack.destination import SlackDestination
from integrations.slack.handlers import SlackHandlers
from integrations.slack.workspace import SlackWorkspaces

log = structlog.get_logger(__name__)


class SlackOptions(BaseModel):
    """`[slack]` in the gateway config file."""

    model_config = ConfigDict(extra="forbid")

    # Join a public channel by itself (scope channels:join) instead of asking to be invited.
    auto_join: bool = True
    # Slack commands worked on at once (each may wait seconds on OneInbox); the rest queue.
    max_concurrent_work: int = Field(default=200, ge=1, le=10_000)
    # Commands waiting for a turn; past this, new commands are turned away politely.
    max_waiting_work: int = Field(default=1000, ge=0, le=100_000)
    # Show every call's transcript in its thread while it runs (per call: `live=yes|no`).
    live_transcript: bool = False
    # Personal data masked in the results of calls started from Slack (phone, email, card).
    redact: list[PersonalData] = Field(default_factory=list)


class SlackIntegration:
    """Slack is on when `SLACK_SIGNING_SECRET` and a bot token or OAuth client are set."""

    name = "slack"

    def setup(self, ctx: AppContext) -> Sequence[BaseRoute]:
        """Register the `slack` destination and return the `/slack/*` routes."""
        try:
            options = SlackOptions.model_validate(ctx.config.table("slack"))
        except ValidationError as exc:
            raise ConfigError(describe_error(ctx.config.path or "config", "slack", exc)) from None
        if not ctx.settings.slack_enabled:
            log.info("slack.disabled", reason="no SLACK_SIGNING_SECRET with a token or client id")
            return []
        workspaces = SlackWorkspaces.from_settings(ctx.settings, ctx.db)
        ctx.destinations.register(SlackDestination(workspaces, auto_join=options.auto_join))
        handlers = SlackHandlers(
            ctx,
            auto_join=options.auto_join,
            max_concurrent=options.max_concurrent_work,
            max_waiting=options.max_waiting_work,
            live_transcript=options.live_transcript,
            redact=options.redact,
        )
        app = build_bolt_app(ctx, workspaces, handlers)
        ctx.extras["slack_app"] = app

        async def open_session() -> None:
            app.client.session = await workspaces.open()

        ctx.on_startup.append(open_session)
        ctx.on_shutdown.append(workspaces.close)
        if ctx.settings.slack_alert_channel:
            ctx.extras["outbox"].alerts.subscribe(
                disabled_alert(workspaces, ctx.settings.slack_alert_channel)
            )
        log.info("slack.enabled", mode="oauth" if workspaces.oauth else "single-workspace")
        assert ctx.settings.slack_signing_secret is not None
        return routes(app, ctx.settings.slack_signing_secret.get_secret_value())
