"""What an integration is: the protocol the app drives (`gateway.plugins` finds them).

It names the app's context, so only the app and the command line import it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from gateway.plugins import CheckRow, Contribution, RequestObserver, installed

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from gateway.config import GatewayConfig
    from gateway.context import AppContext
    from gateway.settings import Settings, SettingsSection


class Integration(Protocol):
    """A platform the gateway serves (Slack, inbound hooks, …)."""

    name: str
    # Its own settings (environment variables), or None when it reads none.
    settings_class: type[SettingsSection] | None

    def setup(self, ctx: AppContext) -> Contribution:
        """Validate its config (raising `ConfigError`); return what it adds to the app."""
        ...

    async def checks(self, settings: Settings, config: GatewayConfig) -> list[CheckRow]:
        """Rows for `oneinbox-gateway check`: its config and the services it reaches."""
        ...

    def metrics(self, registry: CollectorRegistry) -> RequestObserver | None:
        """Add its own metrics to `registry`; the observer is told every answered request."""
        ...


def discover() -> list[Integration]:
    """Every installed integration, in a stable order."""
    return installed()


async def checks_of(
    integration: Integration, settings: Settings, config: GatewayConfig
) -> list[CheckRow]:
    """The integration's `check` rows (none when it declares no `checks`)."""
    checks = getattr(integration, "checks", None)
    return list(await checks(settings, config)) if checks is not None else []
