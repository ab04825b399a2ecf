"""Usage counters as write units: a refused reservation takes nothing, and the units batched
with it still commit (a savepoint, not the batch, is rolled back)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from functools import partial

import sqlalchemy as sa

from gateway.store import usage
from gateway.store.database import Database
from gateway.store.tables import UsageCounterRow, utcnow

A = usage.CounterKey("gateway", "gateway", "all", "2026-11-27")
B = usage.CounterKey("hook", "crm", "all", "2026-11-27")


async def _counts(db: Database) -> dict[str, int]:
    async with db.read() as session:
        rows = (await session.execute(sa.select(UsageCounterRow))).scalars()
        return {row.scope: row.used for row in rows}


def _reserve(*takes: usage.Take) -> partial[int | None]:
    now = utcnow()
    return partial(
        usage.reserve,
        takes=list(takes),
        resets_at=now + timedelta(hours=1),
        hold=None,
        now=now,
        purge_before=None,
    )


async def test_a_refused_reservation_takes_nothing_and_its_batch_still_commits(
    db: Database,
) -> None:
    assert await db.write(_reserve(usage.Take(A, 10), usage.Take(B, 1))) is None
    assert await _counts(db) == {"gateway": 1, "hook": 1}
    # In one batch: a refusal (B is full, after A was taken) and two reservations that fit.
    results = await asyncio.gather(
        db.write(_reserve(usage.Take(A, 10))),
        db.write(_reserve(usage.Take(A, 10), usage.Take(B, 1))),
        db.write(_reserve(usage.Take(A, 10))),
    )
    assert results == [None, 1, None]  # the second refused at its second counter
    assert await _counts(db) == {"gateway": 3, "hook": 1}  # its take of A was rolled back


async def test_giving_back_takes_one_off_and_never_goes_below_zero(db: Database) -> None:
    await db.write(_reserve(usage.Take(A, 10)))
    await db.write(partial(usage.give_back, keys=[A], hold_id=None))
    await db.write(partial(usage.give_back, keys=[A], hold_id=None))
    assert await _counts(db) == {"gateway": 0}


async def test_a_lone_full_counter_is_refused_and_left_as_it_was(db: Database) -> None:
    assert await db.write(_reserve(usage.Take(B, 1))) is None
    assert await db.write(_reserve(usage.Take(B, 1))) == 0
    assert await _counts(db) == {"hook": 1}
