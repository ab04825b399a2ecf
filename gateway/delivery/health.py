"""Endpoint health: a destination failing for too long is disabled, and enabled by hand.

An endpoint is one place results go: a destination kind and its target (one callback URL,
one Slack channel, one CRM record). Every try's outcome is noted on its endpoint, in the
transaction that records the try. When tries have failed without a single success for
longer than `DESTINATION_DISABLE_AFTER_SECONDS` (5 days by default, like Svix), the
endpoint is disabled: its pending deliveries move to `held` (never tried, never lost) and
the operator is alerted once (an error log line, the `gateway_disabled_destinations`
gauge, the dashboard's banner, and every `DisableListener`, e.g. a Slack message). The row
lock on the endpoint makes exactly one replica flip it. Enabling it again (dashboard, CLI,
admin API) makes its held deliveries due now, with a fresh schedule.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.store.database import Database
from gateway.store.deliveries import DeliveryState
from gateway.store.endpoints import EndpointRepository, endpoint_id
from gateway.store.tables import DeliveryRow, EndpointRow, utcnow

log = structlog.get_logger(__name__)

# A healthy endpoint's last success is written at most this often (not on every try).
SUCCESS_REFRESH = timedelta(seconds=60)


def public_target(destination: str, key: str) -> str:
    """What an endpoint is called in logs, alerts and pages: never a URL's query string
    (it may hold a token)."""
    return key.split("?", 1)[0] if destination == "callback" else key


@dataclass(frozen=True)
class DisabledEndpoint:
    """What an operator is told when an endpoint is disabled."""

    id: str
    destination: str
    target: str
    failing_since: datetime
    held: int
    last_error: str | None

    def message(self) -> str:
        """One sentence for a person (log, Slack)."""
        return (
            f"Destination {self.destination} {self.target} was disabled: every try has failed "
            f"since {self.failing_since:%Y-%m-%d %H:%M} UTC (last error: {self.last_error or '-'})."
            f" {self.held} deliveries are held; enable it with "
            f"`oneinbox-gateway destinations enable {self.id}` or from the dashboard."
        )


DisableListener = Callable[[DisabledEndpoint], Awaitable[None]]


class DisableAlerts:
    """Who is told when an endpoint is disabled (integrations subscribe, e.g. Slack)."""

    def __init__(self) -> None:
        self._listeners: list[DisableListener] = []

    def subscribe(self, listener: DisableListener) -> None:
        """Call `listener` (best effort, after the change is committed) on every disable."""
        self._listeners.append(listener)

    async def publish(self, event: DisabledEndpoint) -> None:
        """Log the alert, then tell every listener; a failing listener is logged, not raised."""
        log.error(
            "destination.disabled",
            endpoint_id=event.id,
            destination=event.destination,
            target=event.target,
            failing_since=event.failing_since.isoformat(),
            held=event.held,
            last_error=event.last_error,
        )
        for listener in self._listeners:
            try:
                await listener(event)
            except Exception:
                log.exception("destination.alert_failed", endpoint_id=event.id)


@dataclass(frozen=True)
class Noted:
    """What noting a try's outcome found: whether the endpoint is disabled now, and the
    alert to send when this very try disabled it."""

    disabled: bool
    newly_disabled: DisabledEndpoint | None = None


class EndpointHealth:
    """Notes tries on endpoints and disables those failing longer than `disable_after`."""

    def __init__(self, disable_after: timedelta | None) -> None:
        self.disable_after = disable_after

    async def note(
        self,
        session: AsyncSession,
        delivery: DeliveryRow,
        *,
        ok: bool,
        error: str | None,
        now: datetime,
    ) -> Noted:
        """Note one try on its endpoint (locking the endpoint row only when it changes).

        Call it before locking the delivery row: every writer locks endpoint then delivery.
        """
        repo = EndpointRepository(session)
        eid = endpoint_id(delivery.destination, delivery.destination_key)
        if ok:
            peek = await repo.get(eid)
            if peek is None:
                return Noted(disabled=False)
            recent = peek.last_success_at is not None and (
                now - peek.last_success_at < SUCCESS_REFRESH
            )
            if peek.failing_since is None and recent:
                return Noted(disabled=peek.disabled_at is not None)
            row = await repo.get(eid, for_update=True)
            assert row is not None
            row.last_success_at = now
            row.failing_since = None
            return Noted(disabled=row.disabled_at is not None)
        found = await repo.get(eid, for_update=True)
        if found is None:  # queued before endpoints were kept
            await repo.ensure(
                delivery.destination, delivery.destination_key, dict(delivery.config), now=now
            )
            found = await repo.get(eid, for_update=True)
            assert found is not None
        row = found
        row.last_failure_at = now
        row.last_error = error
        if row.failing_since is None:
            row.failing_since = now
        if row.disabled_at is not None:
            return Noted(disabled=True)
        if self.disable_after is None or now - row.failing_since < self.disable_after:
            return Noted(disabled=False)
        return Noted(disabled=True, newly_disabled=await self._disable(repo, row, now))

    async def _disable(
        self, repo: EndpointRepository, row: EndpointRow, now: datetime
    ) -> DisabledEndpoint:
        assert row.failing_since is not None
        row.disabled_at = now
        span = describe_span(self.disable_after.total_seconds() if self.disable_after else 0)
        row.disabled_reason = (
            f"no successful try since {row.failing_since:%Y-%m-%d %H:%M:%S} UTC "
            f"(longer than {span})"
        )
        held = await repo.set_state_of_deliveries(
            row,
            from_state=str(DeliveryState.PENDING),
            to_state=str(DeliveryState.HELD),
            next_attempt_at=None,
        )
        return DisabledEndpoint(
            id=row.id,
            destination=row.destination,
            target=public_target(row.destination, row.destination_key),
            failing_since=row.failing_since,
            held=held,
            last_error=row.last_error,
        )


def describe_span(seconds: float) -> str:
    """`432000` as "5 days", `7200` as "2 h", `30` as "30 s"."""
    if seconds >= 86400:
        return f"{seconds / 86400:g} days"
    if seconds >= 3600:
        return f"{seconds / 3600:g} h"
    return f"{seconds:g} s"


class UnknownEndpointError(LookupError):
    """No endpoint has that id."""

    def __init__(self, endpoint_id: str) -> None:
        super().__init__(f"unknown destination {endpoint_id!r}")
        self.endpoint_id = endpoint_id


@dataclass(frozen=True)
class EnabledEndpoint:
    id: str
    was_disabled: bool
    released: int  # held deliveries made due now


async def enable_endpoint(db: Database, endpoint: str, *, by: str) -> EnabledEndpoint:
    """Enable an endpoint again: its held deliveries are due now, with a fresh schedule.

    Enabling one that is not disabled changes nothing (and says so). Raises
    `UnknownEndpointError`.
    """
    now = utcnow()
    async with db.session() as session:
        repo = EndpointRepository(session)
        row = await repo.get(endpoint, for_update=True)
        if row is None:
            raise UnknownEndpointError(endpoint)
        if row.disabled_at is None:
            return EnabledEndpoint(row.id, was_disabled=False, released=0)
        row.disabled_at = None
        row.disabled_reason = None
        row.failing_since = None  # a fresh window: it gets the full time to recover
        row.enabled_at = now
        row.enabled_by = by[:64]
        released = await repo.set_state_of_deliveries(
            row,
            from_state=str(DeliveryState.HELD),
            to_state=str(DeliveryState.PENDING),
            next_attempt_at=now,
            reset_attempts=True,
        )
    log.info("destination.enabled", endpoint_id=endpoint, released=released, by=by)
    return EnabledEndpoint(endpoint, was_disabled=True, released=released)
