"""`SlackIntegration`: validates `[slack]`, returns the `/slack/*` routes and their lifecycle.

The `slack` destination is its own entry point (`integrations.slack.destination:destination`).
"""

from __future__ import annotations

import structlog
from prometheus_client import CollectorRegistry

from gateway.config import GatewayConfig
from gateway.context import AppContext
from gateway.plugins import CheckRow, Contribution, DashboardLink, RequestObserver
from gateway.settings import Settings
from integrations.slack.alerts import disabled_alert
from integrations.slack.bolt_app import INSTALL_PATH, build_bolt_app, routes
from integrations.slack.checks import check_slack
from integrations.slack.handlers import SlackHandlers
from integrations.slack.metrics import slack_ack_metrics
from integrations.slack.options import slack_options
from integrations.slack.settings import SlackSettings
from integrations.slack.workspace import SlackWorkspaces

log = structlog.get_logger(__name__)
# In the dashboard's header once OAuth (client id and secret) lets more workspaces install.
ADD_TO_SLACK = DashboardLink(id="add-to-slack", label="Add to Slack", href=INSTALL_PATH)


class SlackIntegration:
    """Slack is on when `SLACK_SIGNING_SECRET` and a bot token or OAuth client are set."""

    name = "slack"
    settings_class = SlackSettings

    def setup(self, ctx: AppContext) -> Contribution:
        """The `/slack/*` routes, and opening and closing the Web API session."""
        options = slack_options(ctx.config)
        settings = ctx.settings.section(SlackSettings)
        if not settings.enabled:
            log.info("slack.disabled", reason="no SLACK_SIGNING_SECRET with a token or client id")
            return Contribution()
        workspaces = SlackWorkspaces.from_settings(settings, ctx.db)
        handlers = SlackHandlers(
            ctx,
            settings,
            auto_join=options.auto_join,
            max_concurrent=options.max_concurrent_work,
            max_waiting=options.max_waiting_work,
            live_transcript=options.live_transcript,
            redact=options.redact,
        )
        app = build_bolt_app(settings, ctx.settings.public_base, workspaces, handlers)

        async def open_session() -> None:
            app.client.session = await workspaces.open()

        if settings.slack_alert_channel:
            ctx.outbox.alerts.subscribe(disabled_alert(workspaces, settings.slack_alert_channel))
        log.info("slack.enabled", mode="oauth" if workspaces.oauth else "single-workspace")
        assert settings.slack_signing_secret is not None
        return Contribution(
            routes=routes(app, settings.slack_signing_secret.get_secret_value()),
            on_startup=[open_session],
            on_shutdown=[workspaces.close],
            dashboard_links=[ADD_TO_SLACK] if workspaces.oauth else [],
        )

    async def checks(self, settings: Settings, config: GatewayConfig) -> list[CheckRow]:
        """`auth.test` with the bot token (or that OAuth mode is complete)."""
        return [await check_slack(settings.section(SlackSettings))]

    def metrics(self, registry: CollectorRegistry) -> RequestObserver | None:
        """`gateway_slack_ack_seconds` (histogram) and `gateway_slack_acks_over_1s`."""
        return slack_ack_metrics(registry)
