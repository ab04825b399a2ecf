"""The small registry through which the app discovers integrations (Slack, hooks, …).

An integration is an object with a `name`, exposed through the Python entry point group
`oneinbox_gateway.integrations`. The core never imports `integrations`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from starlette.routing import BaseRoute

if TYPE_CHECKING:
    from gateway.context import AppContext

ENTRY_POINT_GROUP = "oneinbox_gateway.integrations"
# `ctx.extras` key of the `DashboardLink`s integrations add while they set up.
DASHBOARD_LINKS = "dashboard_links"


@dataclass(frozen=True)
class DashboardLink:
    """A button an integration puts in the dashboard's header (Slack: "Add to Slack")."""

    id: str  # the element id
    label: str
    href: str  # a path on the gateway


@runtime_checkable
class Integration(Protocol):
    name: str

    def setup(self, ctx: AppContext) -> Sequence[BaseRoute]:
        """Validate config, register destinations and workers on `ctx`; return routes."""
        ...


def discover() -> list[Integration]:
    """Every installed integration, in a stable order."""
    found: list[Integration] = []
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        obj = ep.load()
        if not isinstance(obj, Integration):
            raise TypeError(f"entry point {ep.name} is not an Integration")
        found.append(obj)
    return found
