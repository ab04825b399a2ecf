"""`HooksIntegration`: validates `[hooks.*]` at start and serves `POST /hooks/{name}`.

Loading the settings (every command of the command line) loads this module, so the hook
machinery is imported in `setup` and `checks` when they run (start-up speed of
`oneinbox-gateway calls list` and the like), not to break an import cycle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import structlog

from gateway.plugins import CheckRow, Contribution, RequestObserver

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from gateway.config import GatewayConfig
    from gateway.context import AppContext
    from gateway.settings import Settings

log = structlog.get_logger(__name__)


class HooksIntegration:
    """Configured inbound hooks (and, in local mode without a config, the `demo` hook)."""

    name = "hooks"
    settings_class = None  # secrets are named per hook (`*_env`), not fixed settings

    def setup(self, ctx: AppContext) -> Contribution:
        """Validate every hook (raising `ConfigError`), then return the hook route."""
        # Lazily (start-up speed, see the module's docstring).
        from integrations.hooks.config import Hook, load_hooks
        from integrations.hooks.demo import demo_hooks
        from integrations.hooks.endpoint import HookEndpoint
        from integrations.hooks.janitor import IdempotencyJanitor

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
        from integrations.hooks.checks import check_hook_secrets  # lazily: start-up speed

        return check_hook_secrets(config)

    def metrics(self, registry: CollectorRegistry) -> RequestObserver | None:
        """None of its own: hook requests are in `gateway_http_requests`."""
        return None
