"""Success rates over a window, counted in SQL: per origin (each hook, Slack, …) and per
destination (each callback URL, Slack channel, CRM).

A call counts as succeeded once it reached one of the `succeeded` states (its timeline says
so, whatever state it is in now), as failed once it reached one of the `failed` states
without succeeding; the rest are still under way. The caller names the states, so the store
knows no state machine.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.store.tables import CallEventRow, CallRow, DeliveryRow


@dataclass(frozen=True)
class SuccessCount:
    """What became of the calls of one origin, or the deliveries to one destination."""

    kind: str  # origin kind (hook, slack, …) or destination kind (callback, slack, …)
    name: str  # hook name, Slack user, callback URL, `slack:C012…`
    total: int
    succeeded: int
    failed: int

    @property
    def pending(self) -> int:
        return self.total - self.succeeded - self.failed

    @property
    def rate(self) -> float | None:
        """Succeeded over finished (None while nothing finished)."""
        finished = self.succeeded + self.failed
        return self.succeeded / finished if finished else None


class SuccessRateRepository:
    """Read-only counts over `calls`, `call_events` and `deliveries`."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_origin(
        self,
        since: datetime,
        *,
        succeeded: Collection[str],
        failed: Collection[str],
        limit: int = 200,
    ) -> list[SuccessCount]:
        """Calls started since `since`, per (origin kind, origin name), busiest first."""
        ok = _reached(succeeded)
        bad = sa.and_(sa.not_(ok), _reached(failed))
        total = sa.func.count()
        stmt = (
            sa.select(
                CallRow.origin_kind,
                CallRow.origin_name,
                total,
                sa.func.sum(sa.case((ok, 1), else_=0)),
                sa.func.sum(sa.case((bad, 1), else_=0)),
            )
            .where(CallRow.created_at >= since)
            .group_by(CallRow.origin_kind, CallRow.origin_name)
            .order_by(total.desc(), CallRow.origin_kind, CallRow.origin_name)
            .limit(limit)
        )
        return [_count(row) for row in (await self.session.execute(stmt)).all()]

    async def by_destination(
        self,
        since: datetime,
        *,
        succeeded: Collection[str],
        failed: Collection[str],
        limit: int = 200,
    ) -> list[SuccessCount]:
        """Deliveries queued since `since`, per (destination kind, target), busiest first."""
        total = sa.func.count()
        stmt = (
            sa.select(
                DeliveryRow.destination,
                DeliveryRow.destination_key,
                total,
                sa.func.sum(sa.case((DeliveryRow.state.in_(list(succeeded)), 1), else_=0)),
                sa.func.sum(sa.case((DeliveryRow.state.in_(list(failed)), 1), else_=0)),
            )
            .where(DeliveryRow.created_at >= since)
            .group_by(DeliveryRow.destination, DeliveryRow.destination_key)
            .order_by(total.desc(), DeliveryRow.destination, DeliveryRow.destination_key)
            .limit(limit)
        )
        return [_count(row) for row in (await self.session.execute(stmt)).all()]


def _reached(states: Collection[str]) -> sa.ColumnElement[bool]:
    """The call's timeline has a move into one of `states`."""
    return sa.exists().where(
        CallEventRow.call_id == CallRow.id, CallEventRow.to_state.in_(list(states))
    )


def _count(row: Sequence[Any]) -> SuccessCount:
    return SuccessCount(str(row[0]), str(row[1]), int(row[2]), int(row[3] or 0), int(row[4] or 0))
