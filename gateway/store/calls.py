"""Calls and their history of transitions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.store.tables import CallEventRow, CallRow, utcnow


class StaleState(Exception):
    """The call left the state it was read in before the move was written."""


class CallRepository:
    """Read and move calls; every move writes a `call_events` row in the same transaction.

    Which moves are allowed is the state machine's business (`gateway.calls.machine`).
    """

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, row: CallRow, *, detail: str | None = None) -> CallRow:
        """Insert a new call and its first event."""
        self.session.add(row)
        await self.session.flush()
        self.session.add(
            CallEventRow(call_id=row.id, from_state=None, to_state=row.state, detail=detail)
        )
        await self.session.flush()
        return row

    async def get(self, call_id: str, *, for_update: bool = False) -> CallRow | None:
        stmt = sa.select(CallRow).where(CallRow.id == call_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def move(
        self,
        row: CallRow,
        to_state: str,
        *,
        detail: str | None = None,
        **fields: Any,
    ) -> CallRow:
        """Write `row`'s move to `to_state` (and `fields`) with its event row.

        The update is conditional on the state read, so two workers cannot both make a move:
        the loser gets `StaleState`.
        """
        src = row.state
        values = {"state": to_state, "updated_at": utcnow(), **fields}
        result = await self.session.execute(
            sa.update(CallRow)
            .where(CallRow.id == row.id, CallRow.state == src)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise StaleState(f"call {row.id} moved away from {src} meanwhile")
        for key, value in values.items():
            setattr(row, key, value)
        self.session.add(
            CallEventRow(call_id=row.id, from_state=src, to_state=to_state, detail=detail)
        )
        await self.session.flush()
        return row

    async def events(self, call_id: str) -> Sequence[CallEventRow]:
        result = await self.session.execute(
            sa.select(CallEventRow).where(CallEventRow.call_id == call_id).order_by(CallEventRow.id)
        )
        return result.scalars().all()

    async def ever_in(self, call_id: str, state: str) -> bool:
        """True when the call has moved to `state` at some time (its events say so)."""
        found = await self.session.execute(
            sa.select(CallEventRow.id)
            .where(CallEventRow.call_id == call_id, CallEventRow.to_state == state)
            .limit(1)
        )
        return found.first() is not None

    async def recent(
        self,
        *,
        limit: int = 50,
        offset: int = 0,
        state: str | None = None,
        since: datetime | None = None,
    ) -> Sequence[CallRow]:
        stmt = sa.select(CallRow).order_by(CallRow.created_at.desc(), CallRow.id)
        if state is not None:
            stmt = stmt.where(CallRow.state == state)
        if since is not None:
            stmt = stmt.where(CallRow.created_at >= since)
        result = await self.session.execute(stmt.limit(limit).offset(offset))
        return result.scalars().all()

    async def count_by_state(self) -> dict[str, int]:
        result = await self.session.execute(
            sa.select(CallRow.state, sa.func.count()).group_by(CallRow.state)
        )
        return {state: int(count) for state, count in result.all()}

    async def day_counts(
        self, since: datetime, hour_starts: Sequence[datetime]
    ) -> list[tuple[int, str, str | None, int]]:
        """Calls created since `since`, counted by hour, state and stored outcome: rows of
        (hour, state, outcome, calls), where hour is the index of the last of `hour_starts`
        (ascending) at or before the call's creation, -1 before the first.

        The database counts: a busy day is a scan of the `created_at` index there, and a few
        dozen rows here (it used to be a row per call, read into Python on every overview).
        """
        created = CallRow.created_at
        hour = sa.case(
            *[(created >= start, i) for i, start in reversed(list(enumerate(hour_starts)))],
            else_=-1,
        ).label("hour")
        outcome = CallRow.result["outcome"].as_string().label("outcome")
        # Grouped outside: PostgreSQL sees a CASE with bind parameters in GROUP BY as another
        # expression than the selected one (its parameters are numbered apart).
        day = sa.select(hour, CallRow.state, outcome).where(created >= since).subquery()
        rows = await self.session.execute(
            sa.select(day.c.hour, day.c.state, day.c.outcome, sa.func.count()).group_by(
                day.c.hour, day.c.state, day.c.outcome
            )
        )
        return [(int(h), state, found, int(n)) for h, state, found, n in rows.all()]
