"""`HooksIntegration`: validates `[hooks.*]` at start and serves `POST /hooks/{name}`."""

from __future__ import annotations

from collections.abc import Sequence

import structlog
from starlette.routing import BaseRoute

from gateway.context import AppContext
from integrations.hooks.config import Hook, load_hooks
from integrations.hooks.demo import demo_hooks
from integrations.hooks.endpoint import HookEndpoint
from integrations.hooks.janitor import IdempotencyJanitor

log = structlog.get_logger(__name__)


class HooksIntegration:
    """Configured inbound hooks (and, in local mode without a config, the `demo` hook)."""

    name = "hooks"

    def setup(self, ctx: AppContext) -> Sequence[BaseRoute]:
        """Validate every hook (raising `ConfigError`), then return the hook route."""
        hooks: dict[str, Hook] = load_hooks(
            ctx.config.path or "config",
            ctx.config.tables.get("hooks", {}),
            allow_private=ctx.settings.callback_allow_private,
            default_region=ctx.settings.phone_default_region,
        )
        for name, demo in demo_hooks(ctx).items():
            hooks.setdefault(name, demo)
        endpoint = HookEndpoint(ctx, hooks)
        ctx.extras["hooks"] = endpoint
        if hooks:
            ctx.workers.append(IdempotencyJanitor(ctx.db))
        log.info("hooks.configured", hooks=sorted(hooks))
        return endpoint.routes()
