"""What installed packages plug into the gateway (Python entry points), and what they add.

Three entry point groups, so that adding a platform touches its own folder and
`pyproject.toml` only:

- `oneinbox_gateway.integrations`: an integration (routes, workers, settings, checks; the
  protocol the app drives is `gateway.integration.Integration`);
- `oneinbox_gateway.destinations`: a factory per destination kind
  (`callback`, `log`, `slack`, …), resolved by the destination registry;
- `oneinbox_gateway.migrations`: the Alembic versions folder of an integration that owns
  tables (read by the store, see `gateway.store.revisions.alembic_config`).

This module knows no part of the app (settings, context), so settings, metrics and delivery
read the integrations' parts from it. The core never imports `integrations`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from starlette.routing import BaseRoute

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

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


def installed() -> list[Any]:
    """Every installed integration object, in a stable order (each has `name` and `setup`;
    `gateway.integration.discover` gives them typed)."""
    found: list[Any] = []
    for ep in sorted(entry_points(group=INTEGRATIONS), key=lambda e: e.name):
        obj = ep.load()
        if not isinstance(getattr(obj, "name", None), str) or not callable(
            getattr(obj, "setup", None)
        ):
            raise TypeError(f"entry point {ep.name} is not an Integration (name, setup)")
        found.append(obj)
    return found


# `name` and `setup` are required; the other members may be left out (see the helpers).


def metrics_of(integration: Any, registry: CollectorRegistry) -> RequestObserver | None:
    """The integration's request observer after it registered its metrics (or None)."""
    metrics = getattr(integration, "metrics", None)
    return metrics(registry) if metrics is not None else None


def destination_factories() -> dict[str, Callable[..., Any]]:
    """Destination kind → the factory that builds it, from every installed package."""
    factories: dict[str, Callable[..., Any]] = {}
    for ep in sorted(entry_points(group=DESTINATIONS), key=lambda e: e.name):
        factory = ep.load()
        if not callable(factory):
            raise TypeError(f"destination entry point {ep.name} is not callable")
        factories[ep.name] = factory
    return factories
