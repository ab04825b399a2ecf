"""What an integration is, and how the app finds the installed ones (Python entry points).

Three entry point groups, so that adding a platform touches its own folder and
`pyproject.toml` only:

- `oneinbox_gateway.integrations`: an `Integration` (routes, workers, settings, checks);
- `oneinbox_gateway.destinations`: a factory per destination kind
  (`callback`, `log`, `slack`, …), resolved by the destination registry;
- `oneinbox_gateway.migrations`: the Alembic versions folder of an integration that owns
  tables (read by the store, see `gateway.store.database.alembic_config`).

The core never imports `integrations`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, Protocol

from starlette.routing import BaseRoute

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from gateway.config import GatewayConfig
    from gateway.context import AppContext
    from gateway.settings import Settings, SettingsSection
    from gateway.workers import Worker

INTEGRATIONS = "oneinbox_gateway.integrations"
DESTINATIONS = "oneinbox_gateway.destinations"

# (name, ok, what was found): one row of `oneinbox-gateway check`.
CheckRow = tuple[str, bool, str]
# (method, route template, status, seconds): called once per answered HTTP request.
RequestObserver = Callable[[str, str, int, float], None]
Hook = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class DashboardLink:
    """A button an integration puts in the dashboard's header (Slack: "Add to Slack")."""

    id: str  # the element id
    label: str
    href: str  # a path on the gateway


@dataclass
class Contribution:
    """What an integration adds to the app; the app runs it (nothing is registered aside)."""

    routes: list[BaseRoute] = field(default_factory=list)
    workers: list[Worker] = field(default_factory=list)
    on_startup: list[Hook] = field(default_factory=list)
    on_shutdown: list[Hook] = field(default_factory=list)
    # Shown by `serve` under its banner (e.g. the demo hook's ready-to-paste curl).
    banner_lines: list[str] = field(default_factory=list)
    # Buttons in the dashboard's header (e.g. "Add to Slack" when Slack OAuth is on).
    dashboard_links: list[DashboardLink] = field(default_factory=list)


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
    found: list[Integration] = []
    for ep in sorted(entry_points(group=INTEGRATIONS), key=lambda e: e.name):
        obj = ep.load()
        if not isinstance(getattr(obj, "name", None), str) or not callable(
            getattr(obj, "setup", None)
        ):
            raise TypeError(f"entry point {ep.name} is not an Integration (name, setup)")
        found.append(obj)
    return found


# `name` and `setup` are required; the other members may be left out (see the helpers).


async def checks_of(
    integration: Integration, settings: Settings, config: GatewayConfig
) -> list[CheckRow]:
    """The integration's `check` rows (none when it declares no `checks`)."""
    checks = getattr(integration, "checks", None)
    return list(await checks(settings, config)) if checks is not None else []


def metrics_of(integration: Integration, registry: CollectorRegistry) -> RequestObserver | None:
    """The integration's request observer after it registered its metrics (or None)."""
    metrics = getattr(integration, "metrics", None)
    return metrics(registry) if metrics is not None else None


def settings_classes() -> list[type[SettingsSection]]:
    """The settings classes of the installed integrations."""
    found = (getattr(i, "settings_class", None) for i in discover())
    return [cls for cls in found if cls is not None]


def destination_factories() -> dict[str, Callable[..., Any]]:
    """Destination kind → the factory that builds it, from every installed package."""
    factories: dict[str, Callable[..., Any]] = {}
    for ep in sorted(entry_points(group=DESTINATIONS), key=lambda e: e.name):
        factory = ep.load()
        if not callable(factory):
            raise TypeError(f"destination entry point {ep.name} is not callable")
        factories[ep.name] = factory
    return factories
