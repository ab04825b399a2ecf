"""Finding calls: filters, free-text search and keyset pages in a stable order.

Pages are ordered newest first by `(created_at, id)`, so a page link stays right while new
calls arrive (an offset would shift under them) and stays cheap however deep it goes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.store.tables import CallRow


@dataclass(frozen=True)
class CallFilter:
    """What to look for; every field left as None matches every call."""

    text: str | None = None  # part of the id, agent, origin name, outcome or summary
    state: str | None = None
    outcome: str | None = None
    origin_kind: str | None = None
    origin_name: str | None = None
    agent: str | None = None  # an agent id or the name the call was started with
    since: datetime | None = None  # created at or after
    until: datetime | None = None  # created before


@dataclass(frozen=True)
class PageMark:
    """A position in the order: the first or last call of a page."""

    created_at: datetime
    call_id: str


@dataclass(frozen=True)
class CallPageRows:
    """One page of matching calls, newest first, and whether there are more either side."""

    rows: Sequence[CallRow]
    newer: bool
    older: bool


class CallSearchRepository:
    """Read-only searches over `calls`."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def page(
        self,
        where: CallFilter,
        *,
        limit: int,
        before: PageMark | None = None,
        after: PageMark | None = None,
    ) -> CallPageRows:
        """The `limit` newest calls older than `before` (or the oldest newer than `after`)."""
        conditions = _conditions(where)
        if after is not None:
            stmt = (
                sa.select(CallRow)
                .where(*conditions, _past(after, newer=True))
                .order_by(CallRow.created_at.asc(), CallRow.id.asc())
                .limit(limit + 1)
            )
            found = list((await self.session.execute(stmt)).scalars())
            more = len(found) > limit
            rows = list(reversed(found[:limit]))
            return CallPageRows(rows, newer=more, older=True)
        stmt = sa.select(CallRow).where(*conditions)
        if before is not None:
            stmt = stmt.where(_past(before, newer=False))
        stmt = stmt.order_by(CallRow.created_at.desc(), CallRow.id.desc()).limit(limit + 1)
        found = list((await self.session.execute(stmt)).scalars())
        return CallPageRows(found[:limit], newer=before is not None, older=len(found) > limit)

    async def count(self, where: CallFilter) -> int:
        """How many calls match, on every page together."""
        stmt = sa.select(sa.func.count()).select_from(CallRow).where(*_conditions(where))
        return int((await self.session.execute(stmt)).scalar_one())

    async def outcomes(self, *, limit: int = 50) -> list[str]:
        """The distinct outcomes calls ended with (for the filter's suggestions)."""
        outcome = CallRow.result["outcome"].as_string()
        stmt = sa.select(outcome).where(outcome.is_not(None)).distinct().limit(limit)
        return sorted(str(o) for o in (await self.session.execute(stmt)).scalars() if o)

    async def origins(self, *, limit: int = 100) -> list[tuple[str, str]]:
        """The distinct (origin kind, origin name) pairs calls came from."""
        stmt = (
            sa.select(CallRow.origin_kind, CallRow.origin_name)
            .distinct()
            .order_by(CallRow.origin_kind, CallRow.origin_name)
            .limit(limit)
        )
        return [(kind, name) for kind, name in (await self.session.execute(stmt)).all()]


def _past(mark: PageMark, *, newer: bool) -> sa.ColumnElement[bool]:
    """Calls strictly after (`newer`) or before `mark` in the page order."""
    if newer:
        return sa.or_(
            CallRow.created_at > mark.created_at,
            sa.and_(CallRow.created_at == mark.created_at, CallRow.id > mark.call_id),
        )
    return sa.or_(
        CallRow.created_at < mark.created_at,
        sa.and_(CallRow.created_at == mark.created_at, CallRow.id < mark.call_id),
    )


def _conditions(where: CallFilter) -> list[sa.ColumnElement[bool]]:
    outcome = CallRow.result["outcome"].as_string()
    found: list[sa.ColumnElement[bool]] = []
    if where.state is not None:
        found.append(CallRow.state == where.state)
    if where.outcome is not None:
        found.append(outcome == where.outcome)
    if where.origin_kind is not None:
        found.append(CallRow.origin_kind == where.origin_kind)
    if where.origin_name is not None:
        found.append(CallRow.origin_name == where.origin_name)
    if where.agent is not None:
        found.append(sa.or_(CallRow.agent_id == where.agent, CallRow.agent_name == where.agent))
    if where.since is not None:
        found.append(CallRow.created_at >= where.since)
    if where.until is not None:
        found.append(CallRow.created_at < where.until)
    if where.text is not None:
        needle = where.text.lower()
        summary = CallRow.result["summary"].as_string()
        columns = (CallRow.id, CallRow.agent_name, CallRow.origin_name, outcome, summary)
        found.append(
            sa.or_(
                *(
                    sa.func.lower(sa.func.coalesce(column, "")).contains(needle, autoescape=True)
                    for column in columns
                )
            )
        )
    return found
