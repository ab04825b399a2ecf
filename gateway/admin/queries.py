"""What the admin API and the dashboard read from the store, as response models."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.admin.models import (
    CallDetail,
    CallEvent,
    CallSummary,
    DeliveryAttemptView,
    DeliveryDetail,
    DeliveryView,
)
from gateway.delivery import replay
from gateway.http.errors import HTTPProblem
from gateway.phone import mask
from gateway.store.calls import CallRepository
from gateway.store.database import Database
from gateway.store.deliveries import DeliveryRepository
from gateway.store.tables import CallRow, DeliveryAttemptRow, DeliveryRow, utcnow


def call_summary(row: CallRow) -> CallSummary:
    """A call as a list shows it; outcome and duration come from the stored result."""
    result = row.result or {}
    duration = result.get("duration_seconds")
    if duration is None and row.live_at is not None and row.ended_at is not None:
        duration = (row.ended_at - row.live_at).total_seconds()
    return CallSummary(
        id=row.id,
        agent_id=row.agent_id,
        agent_name=row.agent_name,
        type="outbound" if row.call_type == "outbound" else "web",
        to_number=mask(row.to_number),
        state=row.state,
        upstream_status=row.upstream_status,
        origin_kind=row.origin_kind,
        origin_name=row.origin_name,
        outcome=result.get("outcome") if isinstance(result.get("outcome"), str) else None,
        duration_seconds=float(duration) if isinstance(duration, int | float) else None,
        created_at=row.created_at,
        ended_at=row.ended_at,
    )


def _masked(result: dict[str, Any] | None) -> dict[str, Any] | None:
    """The stored result with its number masked (the admin views never show it whole)."""
    if not result or not result.get("to_number"):
        return result
    return {**result, "to_number": mask(str(result["to_number"]))}


def delivery_view(row: DeliveryRow) -> DeliveryView:
    return DeliveryView.model_validate(row, from_attributes=True)


async def list_calls(
    db: Database, *, limit: int, offset: int, state: str | None = None
) -> list[CallSummary]:
    """The newest calls first."""

    async def work(session: AsyncSession) -> list[CallSummary]:
        rows = await CallRepository(session).recent(limit=limit, offset=offset, state=state)
        return [call_summary(row) for row in rows]

    return await db.reading(work)


async def call_detail(db: Database, call_id: str) -> CallDetail | None:
    """A call with its timeline, result and deliveries (each with its attempts)."""
    return await db.reading(lambda session: _call_detail(session, call_id))


async def _call_detail(session: AsyncSession, call_id: str) -> CallDetail | None:
    calls = CallRepository(session)
    row = await calls.get(call_id)
    if row is None:
        return None
    events = await calls.events(call_id)
    repo = DeliveryRepository(session)
    deliveries = await repo.for_call(call_id)
    attempts = await repo.attempts_of([d.id for d in deliveries])
    summary = call_summary(row)
    return CallDetail(
        **summary.model_dump(),
        origin_context=row.origin_context or {},
        last_error=row.last_error,
        live_at=row.live_at,
        result=_masked(row.result),
        events=[CallEvent.model_validate(e, from_attributes=True) for e in events],
        deliveries=[_detail(d, attempts.get(d.id, [])) for d in deliveries],
    )


def _detail(row: DeliveryRow, attempts: Sequence[DeliveryAttemptRow]) -> DeliveryDetail:
    history = [DeliveryAttemptView.model_validate(a, from_attributes=True) for a in attempts]
    view = delivery_view(row)
    if history:
        view.signed_by = history[-1].signed_by
    return DeliveryDetail(**view.model_dump(), history=history)


async def list_deliveries(
    db: Database,
    *,
    limit: int,
    offset: int,
    state: str | None = None,
    failed: bool = False,
) -> list[DeliveryView]:
    """The newest deliveries first; `failed` keeps those the outbox gave up on."""

    async def work(session: AsyncSession) -> tuple[Sequence[DeliveryRow], dict[str, list[str]]]:
        repo = DeliveryRepository(session)
        rows = await repo.newest(limit=limit, offset=offset, state=state, gave_up=failed)
        return rows, await repo.last_signed_by([row.id for row in rows])

    rows, signed = await db.reading(work)
    views = [delivery_view(row) for row in rows]
    for view in views:
        view.signed_by = signed.get(view.id, [])
    return views


async def replay_delivery(db: Database, delivery_id: str, *, by: str) -> DeliveryView:
    """Queue a dead or disabled delivery again, now, with the same id (the outbox's replay).

    Raises 404 `unknown_delivery` or 409 `not_replayable` (with the reason) when it cannot.
    """
    try:
        row = await replay.replay_delivery(db, delivery_id, by=by)
    except replay.UnknownDeliveryError:
        raise HTTPProblem(404, "unknown_delivery", "no delivery has that id") from None
    except replay.NotReplayableError as exc:
        raise HTTPProblem(409, "not_replayable", str(exc)) from None
    return delivery_view(row)


async def day_counts(
    db: Database, since: datetime, hour_starts: Sequence[datetime]
) -> list[tuple[int, str, str | None, int]]:
    """The dashboard's charts' figures: calls since `since` counted by hour (an index into
    `hour_starts`, -1 before the first), state and outcome (see `CallRepository.day_counts`)."""
    return await db.reading(lambda session: CallRepository(session).day_counts(since, hour_starts))


def day_ago() -> datetime:
    return utcnow() - timedelta(hours=24)
