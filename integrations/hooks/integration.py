"""`HooksIntegration`: validates `[hooks.*]` at start and serves `POST /hooks/{name}`."""

from __future__ import annotations

import structlog
from prometheus_client import CollectorRegistry

from gateway.config import GatewayConfig
from gateway.context import AppContext
from gateway.plugins import CheckRow, Contribution, RequestObserver
from gateway.settings import Settings
from integrations.hooks.checks import check_hook_secrets
from integrations.hooks.config import Hook, load_hooks
from integrations.hooks.demo import demo_hooks
from integrations.hooks.endpoint import HookEndpoint
from integrations.hooks.janitor import IdempotencyJanitor

log = structlog.get_logger(__name__)


class HooksIntegration:
    """Configured inbound hooks (and, in local mode without a config, the `demo` hook)."""

    name = "hooks"
    settings_class = None  # secrets are named per hook (`*_env`), not fixed settings

    def setup(self, ctx: AppContext) -> Contribution:
        """Validate every hook (raising `ConfigError`), then return the hook route."""
        hooks: dict[str, Hook] = load_hooks(
            ctx.config.path or "config",
            ctx.config.tables.get("hooks", {}),
            allow_private=ctx.settings.callback_allow_private,
            default_region=ctx.settings.phone_default_region,
        )
        added = Contribution()
        demos, banner = demo_hooks(ctx)
        for name, demo in demos.items():
            hooks.setdefault(name, demo)
        if demos:
            added.banner_lines = banner
        endpoint = HookEndpoint(ctx, hooks)
        if hooks:
            added.workers.append(IdempotencyJanitor(ctx.db))
        log.info("hooks.configured", hooks=sorted(hooks))
        added.routes = endpoint.routes()
        return added

    async def checks(self, settings: Settings, config: GatewayConfig) -> list[CheckRow]:
        """One row per hook: the secrets it names are set."""
        return check_hook_secrets(config)

    def metrics(self, registry: CollectorRegistry) -> RequestObserver | None:
        """None of its own: hook requests are in `gateway_http_requests`."""
        return None
