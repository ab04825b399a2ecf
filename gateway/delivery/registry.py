"""Destinations behind one small interface, resolved by kind through entry points.

Each destination kind is an entry point of the group `oneinbox_gateway.destinations`
naming a factory `(settings, config, db) -> Destination | None` (None: not configured
here). The core's own kinds (`callback`, `log`) are declared the same way, so adding a
kind touches its own folder and one line of `pyproject.toml`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from gateway.calls.result import CallResult
from gateway.config import GatewayConfig
from gateway.plugins import destination_factories
from gateway.settings import Settings
from gateway.store.database import Database


@dataclass(frozen=True)
class DeliveryAttempt:
    """What one try of a delivery is handed: its stable id, config and attempt number."""

    delivery_id: str
    call_id: str
    destination_key: str
    config: dict[str, Any]
    attempt: int  # 1 for the first try
    uncertain: bool  # an earlier try may have reached the destination (crash, timeout)


@dataclass(frozen=True)
class DeliveryOutcome:
    """How a try went. `gone` (e.g. HTTP 410) disables the destination for good."""

    ok: bool
    status_code: int | None = None
    error: str | None = None
    retry_after: float | None = None
    gone: bool = False
    permanent: bool = False  # no point retrying (e.g. the config is wrong)
    # Fingerprints of the secrets that signed this try (`whsec:1a2b3c4d`), never the secrets.
    signed_by: tuple[str, ...] = ()


class Destination(Protocol):
    """Where results go. Implementations must be safe to call again with the same delivery id."""

    name: str

    async def deliver(self, attempt: DeliveryAttempt, result: CallResult) -> DeliveryOutcome: ...


DestinationFactory = Callable[[Settings, GatewayConfig, Database], "Destination | None"]


class DestinationRegistry:
    """Kind → destination, for one app."""

    def __init__(self) -> None:
        self._destinations: dict[str, Destination] = {}

    @classmethod
    def from_entry_points(
        cls, settings: Settings, config: GatewayConfig, db: Database
    ) -> DestinationRegistry:
        """Every installed destination kind that is configured here."""
        registry = cls()
        for kind, factory in destination_factories().items():
            destination = factory(settings, config, db)
            if destination is None:
                continue
            if destination.name != kind:
                raise TypeError(f"destination entry point {kind!r} built {destination.name!r}")
            registry.register(destination)
        return registry

    def register(self, destination: Destination) -> None:
        if destination.name in self._destinations:
            raise ValueError(f"destination {destination.name!r} is registered twice")
        self._destinations[destination.name] = destination

    def get(self, name: str) -> Destination | None:
        return self._destinations.get(name)

    def names(self) -> list[str]:
        return sorted(self._destinations)

    async def aclose(self) -> None:
        """Close what destinations hold open (HTTP clients), at shutdown."""
        for destination in self._destinations.values():
            close = getattr(destination, "aclose", None)
            if close is not None and inspect.iscoroutinefunction(close):
                await close()
