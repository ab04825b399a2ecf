"""Destinations behind one small interface, registered by name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from gateway.calls.result import CallResult


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


class DestinationRegistry:
    """Name → destination; the core registers its own, integrations register theirs."""

    def __init__(self) -> None:
        self._destinations: dict[str, Destination] = {}

    def register(self, destination: Destination) -> None:
        if destination.name in self._destinations:
            raise ValueError(f"destination {destination.name!r} is registered twice")
        self._destinations[destination.name] = destination

    def get(self, name: str) -> Destination | None:
        return self._destinations.get(name)

    def names(self) -> list[str]:
        return sorted(self._destinations)
