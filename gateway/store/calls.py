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

    async def states_and_outcomes(self, since: datetime) -> list[tuple[datetime, str, str | None]]:
        """(created_at, state, result outcome) of every call created since `since`, oldest
        first. Only the outcome is read out of the stored result, so a day of calls stays
        cheap."""
        outcome = CallRow.result["outcome"].as_string()
        rows = await self.session.execute(
            sa.select(CallRow.created_at, CallRow.state, outcome)
            .where(CallRow.created_at >= since)
            .order_by(CallRow.created_at)
        )
        return [(created, state, found) for created, state, found in rows.all()]
