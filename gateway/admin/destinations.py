"""Destinations (endpoints) for the admin API and the dashboard: health, enable, test event."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.admin.models import DestinationView, EnableAccepted, SentTestEvent
from gateway.delivery.health import enable_endpoint, public_target
from gateway.delivery.probe import CallbackTarget, ProbeResult, endpoint_target, send_test_event
from gateway.store.database import Database
from gateway.store.deliveries import DeliveryRepository
from gateway.store.endpoints import EndpointRepository, endpoint_id
from gateway.store.tables import EndpointRow


def destination_view(row: EndpointRow, held: int) -> DestinationView:
    status = "disabled" if row.disabled_at else "failing" if row.failing_since else "ok"
    return DestinationView(
        id=row.id,
        destination=row.destination,
        target=public_target(row.destination, row.destination_key),
        status=status,
        failing_since=row.failing_since,
        last_success_at=row.last_success_at,
        last_failure_at=row.last_failure_at,
        last_error=row.last_error,
        disabled_at=row.disabled_at,
        disabled_reason=row.disabled_reason,
        held=held,
    )


async def list_destinations(db: Database, *, disabled_only: bool = False) -> list[DestinationView]:
    """Disabled first, then failing, then the rest, each with its count of held deliveries."""

    async def work(session: AsyncSession) -> list[DestinationView]:
        repo = EndpointRepository(session)
        rows: Sequence[EndpointRow] = await (repo.disabled() if disabled_only else repo.listing())
        held_by_target = await DeliveryRepository(session).held_by_target()
        held = {endpoint_id(kind, key): n for (kind, key), n in held_by_target.items()}
        return [destination_view(row, held.get(row.id, 0)) for row in rows]

    return await db.reading(work)


async def enable(db: Database, destination_id: str, *, by: str) -> EnableAccepted:
    """Enable a destination (raises `UnknownEndpointError`)."""
    done = await enable_endpoint(db, destination_id, by=by)
    return EnableAccepted(
        destination_id=done.id, was_disabled=done.was_disabled, released=done.released
    )


def sent_view(result: ProbeResult) -> SentTestEvent:
    return SentTestEvent(
        ok=result.ok,
        target=result.target,
        webhook_id=result.webhook_id,
        status_code=result.status_code,
        error=result.error,
        duration_ms=result.duration_ms,
        signed_by=list(result.signed_by),
    )


async def send_test_to_destination(
    db: Database, destination_id: str, *, allow_private: bool, by: str
) -> SentTestEvent:
    """Send a signed test event to a known callback destination (raises
    `UnknownEndpointError` or `NotACallbackError`)."""
    target = await endpoint_target(db, destination_id)
    return sent_view(await send_test_event(target, allow_private=allow_private, by=by))


async def send_test_to_url(
    url: str, secret_env: str | None, *, allow_private: bool, by: str
) -> SentTestEvent:
    """Send a signed test event to any callback URL."""
    target = CallbackTarget(url=url, secret_env=secret_env)
    return sent_view(await send_test_event(target, allow_private=allow_private, by=by))
