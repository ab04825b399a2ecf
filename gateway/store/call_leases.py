"""The tracker's leases on calls: which are due, who looks at them, and giving them back.

The lease lives in `next_poll_at` itself: a claimed call is not due again until the lease
runs out, so a crashed worker's calls come back by themselves. On PostgreSQL a batch is
chosen with `FOR UPDATE SKIP LOCKED`, so replicas split the work. Which states are followed
is the caller's (the state machine's) business: it passes them in.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.store.tables import CallRow, utcnow


def claim_due_calls(
    conn: sa.Connection,
    unfollowed: Collection[str],
    owner: str,
    *,
    limit: int,
    until: datetime,
    skip_locked: bool,
) -> list[str]:
    """Lease up to `limit` due calls to `owner` until `until`, earliest due first: a unit of
    `Database.write`, committed with the other writes waiting (the hooks' claims and records).

    `unfollowed`: the states the tracker no longer looks at. Said as `state NOT IN` them
    rather than `IN` the followed ones: SQLite, with no statistics, would then pick the index
    on `state` and sort every followed call on each claim (1.1 ms at 4,500 calls, growing with
    them); as `NOT IN` it walks `next_poll_at`'s index and stops at `limit` (0.03 ms).
    """
    stmt = due_query(list(unfollowed), limit, skip_locked)
    ids: list[str] = list(conn.execute(stmt).scalars())
    if ids:
        conn.execute(_lease(ids, owner, until))
    return ids


def due_query(unfollowed: list[str], limit: int, skip_locked: bool) -> sa.Select[Any]:
    """The due calls, earliest first (see `claim_due_calls`)."""
    stmt = (
        sa.select(CallRow.id)
        .where(CallRow.state.not_in(unfollowed), CallRow.next_poll_at <= utcnow())
        .order_by(CallRow.next_poll_at)
        .limit(limit)
    )
    return stmt.with_for_update(skip_locked=True) if skip_locked else stmt


def _lease(ids: list[str], owner: str, until: datetime) -> sa.Update:
    return (
        sa.update(CallRow)
        .where(CallRow.id.in_(ids))
        .values(next_poll_at=until, lease_owner=owner, lease_expires_at=until)
        .execution_options(synchronize_session=False)
    )


# (state, polls so far, created at) -> seconds until the next look, or None: not quiet.
QuietPlan = Callable[[str, int, datetime], float | None]


def next_look(current: datetime | None, leased_until: datetime, planned: datetime) -> datetime:
    """The next look at a call: `planned`, unless a webhook hint asked for an earlier one
    while the call was leased (a hint moves `next_poll_at` before the lease's end)."""
    if current is not None and current < leased_until and current < planned:
        return current
    return planned


def reschedule_quiet(
    conn: sa.Connection,
    *,
    call_id: str,
    upstream_status: str | None,
    leased_until: datetime,
    plan: QuietPlan,
    lock: bool,
) -> bool:
    """A look that moved nothing: count it and plan the next one, as a unit of
    `Database.write`. False (nothing written) when `plan` says the call is not quiet (or it
    is gone): the caller then applies the look in full.
    """
    stmt = sa.select(
        CallRow.state, CallRow.poll_count, CallRow.created_at, CallRow.next_poll_at
    ).where(CallRow.id == call_id)
    row = conn.execute(stmt.with_for_update() if lock else stmt).first()
    if row is None:
        return False
    next_in = plan(row.state, row.poll_count, row.created_at)
    if next_in is None:
        return False
    planned = utcnow() + timedelta(seconds=next_in)
    conn.execute(
        sa.update(CallRow)
        .where(CallRow.id == call_id, CallRow.state == row.state)
        .values(
            poll_count=row.poll_count + 1,
            lease_owner=None,
            lease_expires_at=None,
            next_poll_at=next_look(row.next_poll_at, leased_until, planned),
            upstream_status=upstream_status,
            last_error=None,
        )
    )
    return True


class CallLeaseRepository:
    """Lease queries on `calls` for the calls in `states` (the ones still followed upstream)."""

    def __init__(self, session: AsyncSession, states: Collection[str]) -> None:
        self.session = session
        self.states = [str(s) for s in states]

    async def release(self, owner: str | None = None) -> int:
        """Make the leased calls (of `owner`, or of anyone) due now; returns how many."""
        condition = (
            CallRow.lease_owner.is_not(None) if owner is None else CallRow.lease_owner == owner
        )
        result = await self.session.execute(
            sa.update(CallRow)
            .where(CallRow.state.in_(self.states), condition)
            .values(next_poll_at=utcnow(), lease_owner=None, lease_expires_at=None)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def move_up(self, call_id: str, due_at: datetime) -> bool:
        """Make a followed call due at `due_at`; False when it is unknown or not followed."""
        result = await self.session.execute(
            sa.update(CallRow)
            .where(CallRow.id == call_id, CallRow.state.in_(self.states))
            .values(next_poll_at=due_at)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount) == 1  # type: ignore[attr-defined]
