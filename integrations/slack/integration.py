"""`SlackIntegration`: validates `[slack]`, returns the `/slack/*` routes and their lifecycle.

The `slack` destination is its own entry point (`integrations.slack.destination:destination`).

Loading the settings (every command of the command line) loads this module, so slack-bolt
and the handlers are imported in `setup`, `checks` and `metrics` when they run (start-up
speed of `oneinbox-gateway calls list` and the like), not to break an import cycle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog

from gateway.plugins import CheckRow, Contribution, DashboardLink, RequestObserver
from gateway.sealing import UnreadableSecretError
from integrations.slack.settings import SlackSettings

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from gateway.config import GatewayConfig
    from gateway.context import AppContext
    from gateway.settings import Settings

log = structlog.get_logger(__name__)


class SlackIntegration:
    """Slack is on when `SLACK_SIGNING_SECRET` and a bot token or OAuth client are set."""

    name = "slack"
    settings_class = SlackSettings

    def setup(self, ctx: AppContext) -> Contribution:
        """The `/slack/*` routes, and opening and closing the Web API session."""
        # Lazily (start-up speed, see the module's docstring).
        from integrations.slack.options import slack_options

        options = slack_options(ctx.config)
        settings = ctx.settings.section(SlackSettings)
        if not settings.enabled:
            log.info("slack.disabled", reason="no SLACK_SIGNING_SECRET with a token or client id")
            return Contribution()
        # Only once Slack is on: slack-bolt and the handlers take ~0.3 s to import, which
        # every gateway without Slack paid at start. Lazily (start-up speed).
        from integrations.slack.alerts import disabled_alert
        from integrations.slack.bolt_app import INSTALL_PATH, build_bolt_app, routes
        from integrations.slack.handlers import SlackHandlers
        from integrations.slack.installations import token_sealer
        from integrations.slack.workspace import SlackWorkspaces

        oauth = settings.slack_bot_token is None
        sealer = token_sealer(ctx.settings) if oauth else None
        workspaces = SlackWorkspaces.from_settings(settings, ctx.db, sealer)
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

        async def reseal_tokens() -> None:
            # Tokens stored plain (before encryption) or with a previous key: encrypted with
            # the current key. Tokens no key opens stop the start with one clear line.
            assert workspaces.installations is not None
            try:
                rewritten = await workspaces.installations.reseal_stored()
            except UnreadableSecretError as exc:
                log.error("slack.tokens_unreadable", error=str(exc))
                raise
            if rewritten:
                log.info("slack.tokens_encrypted", rows=rewritten)

        if settings.slack_alert_channel:
            ctx.outbox.alerts.subscribe(disabled_alert(workspaces, settings.slack_alert_channel))
        log.info("slack.enabled", mode="oauth" if workspaces.oauth else "single-workspace")
        assert settings.slack_signing_secret is not None
        return Contribution(
            routes=routes(app, settings.slack_signing_secret.get_secret_value()),
            on_startup=[open_session, *([reseal_tokens] if oauth else [])],
            on_shutdown=[workspaces.close],
            # In the dashboard's header once OAuth lets more workspaces install.
            dashboard_links=(
                [DashboardLink(id="add-to-slack", label="Add to Slack", href=INSTALL_PATH)]
                if workspaces.oauth
                else []
            ),
        )

    async def checks(self, settings: Settings, config: GatewayConfig) -> list[CheckRow]:
        """`auth.test` with the bot token (or that OAuth mode is complete), and that the
        stored tokens of OAuth installations open with the configured keys."""
        # Lazily (start-up speed).
        from integrations.slack.checks import check_slack, check_stored_tokens

        rows = [await check_slack(settings.section(SlackSettings))]
        stored = await check_stored_tokens(settings)
        return rows if stored is None else [*rows, stored]

    def metrics(self, registry: CollectorRegistry) -> RequestObserver | None:
        """`gateway_slack_ack_seconds` (histogram) and `gateway_slack_acks_over_1s`."""
        from integrations.slack.metrics import slack_ack_metrics  # lazily: start-up speed

        return slack_ack_metrics(registry)
