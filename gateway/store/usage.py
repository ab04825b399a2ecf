"""Usage counters and live-call holds: what the limits count, atomic on SQLite and PostgreSQL.

A counter is taken with one `INSERT … ON CONFLICT DO UPDATE SET used = used + 1 WHERE used <
limit RETURNING used`: of two replicas racing for the last call of a day, exactly one gets a
row back. Live calls are the calls in a live state plus the holds of calls being started; a
hold is taken under a transaction-wide lock (an advisory lock on PostgreSQL; SQLite sessions
already begin with `BEGIN IMMEDIATE`), so two replicas cannot both take the last place.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.store.tables import CallRow, LiveCallHoldRow, UsageCounterRow, utcnow

# An arbitrary constant: the PostgreSQL advisory lock that serialises taking live-call holds.
LIVE_HOLD_LOCK_ID = 0x6F6E6C76


@dataclass(frozen=True, order=True)
class CounterKey:
    """One counter: what (`scope`, `kind`) of whom (`subject`) in which `period`."""

    scope: str
    subject: str
    kind: str
    period: str


class UsageRepository:
    """The `usage_counters` and `live_call_holds` tables, inside the caller's transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @property
    def _dialect(self) -> str:
        bind = self.session.bind
        return bind.dialect.name if bind is not None else "sqlite"

    async def take(self, key: CounterKey, *, limit: int, resets_at: datetime) -> int | None:
        """Add one to the counter unless it is at `limit`: the new count, or None when full."""
        if limit <= 0:
            return None
        module: Any = postgresql if self._dialect == "postgresql" else sqlite
        table = UsageCounterRow.__table__
        stmt = (
            module.insert(UsageCounterRow)
            .values(
                scope=key.scope,
                subject=key.subject,
                kind=key.kind,
                period=key.period,
                used=1,
                resets_at=resets_at,
            )
            .on_conflict_do_update(
                index_elements=["scope", "subject", "kind", "period"],
                set_={"used": table.c.used + 1},
                where=table.c.used < limit,
            )
            .returning(table.c.used)
        )
        used = (await self.session.execute(stmt)).scalar_one_or_none()
        return int(used) if used is not None else None

    async def give_back(self, key: CounterKey) -> None:
        """Take one off the counter again (the call it was taken for never started)."""
        await self.session.execute(
            sa.update(UsageCounterRow)
            .where(*_matches(key), UsageCounterRow.used > 0)
            .values(used=UsageCounterRow.used - 1)
        )

    async def used(self, keys: Iterable[CounterKey]) -> dict[CounterKey, int]:
        """The current count of each of `keys` (0 when never taken)."""
        wanted = list(keys)
        if not wanted:
            return {}
        rows = (
            await self.session.execute(
                sa.select(UsageCounterRow).where(sa.or_(*(sa.and_(*_matches(k)) for k in wanted)))
            )
        ).scalars()
        found = {CounterKey(r.scope, r.subject, r.kind, r.period): r.used for r in rows}
        return {key: found.get(key, 0) for key in wanted}

    async def current(self, *, now: datetime | None = None) -> Sequence[UsageCounterRow]:
        """Every counter whose period has not ended yet."""
        now = now or utcnow()
        result = await self.session.execute(
            sa.select(UsageCounterRow)
            .where(UsageCounterRow.resets_at > now)
            .order_by(UsageCounterRow.scope, UsageCounterRow.kind, UsageCounterRow.subject)
        )
        return result.scalars().all()

    async def purge(self, before: datetime) -> int:
        """Delete counters of periods that ended before `before`; returns how many went."""
        result: Any = await self.session.execute(
            sa.delete(UsageCounterRow).where(UsageCounterRow.resets_at < before)
        )
        return int(result.rowcount or 0)

    async def live(self, live_states: Sequence[str], *, now: datetime | None = None) -> int:
        """Calls in one of `live_states` plus unexpired holds of calls being started."""
        now = now or utcnow()
        calls = (
            sa.select(sa.func.count())
            .select_from(CallRow)
            .where(CallRow.state.in_(live_states))
            .scalar_subquery()
        )
        holds = (
            sa.select(sa.func.count())
            .select_from(LiveCallHoldRow)
            .where(LiveCallHoldRow.expires_at > now)
            .scalar_subquery()
        )
        return int((await self.session.execute(sa.select(calls + holds))).scalar_one())

    async def hold(
        self,
        hold_id: str,
        *,
        cap: int,
        live_states: Sequence[str],
        expires_at: datetime,
        now: datetime | None = None,
    ) -> int | None:
        """Take a place under the cap of `cap` live calls: the live count with it, or None.

        Serialised across replicas for the rest of the caller's transaction.
        """
        if cap <= 0:
            return None
        if self._dialect == "postgresql":
            await self.session.execute(
                sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": LIVE_HOLD_LOCK_ID}
            )
        live = await self.live(live_states, now=now)
        if live >= cap:
            return None
        await self.session.execute(
            sa.insert(LiveCallHoldRow).values(id=hold_id, expires_at=expires_at)
        )
        return live + 1

    async def purge_holds(self, now: datetime | None = None) -> int:
        """Delete expired holds (left by a process that died while starting a call)."""
        result: Any = await self.session.execute(
            sa.delete(LiveCallHoldRow).where(LiveCallHoldRow.expires_at <= (now or utcnow()))
        )
        return int(result.rowcount or 0)

    async def release(self, hold_id: str) -> None:
        """Drop a hold: its call is stored (and counts itself) or never started."""
        await self.session.execute(sa.delete(LiveCallHoldRow).where(LiveCallHoldRow.id == hold_id))


def _matches(key: CounterKey) -> list[sa.ColumnElement[bool]]:
    return [
        UsageCounterRow.scope == key.scope,
        UsageCounterRow.subject == key.subject,
        UsageCounterRow.kind == key.kind,
        UsageCounterRow.period == key.period,
    ]
