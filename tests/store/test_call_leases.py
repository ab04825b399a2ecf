"""The tracker's claim of due calls (`claim_due_calls`), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

import sqlalchemy as sa

from gateway.calls.states import UNPOLLED, CallState
from gateway.store.call_leases import claim_due_calls, due_query, next_look, reschedule_quiet
from gateway.store.database import Database
from gateway.store.tables import CallRow, utcnow
from tests.store.plans import sqlite_plan


async def _calls(db: Database, rows: list[tuple[str, str, int | None]]) -> None:
    """(id, state, next_poll_at in seconds from now or None) each."""
    now = utcnow()
    async with db.session() as session:
        for call_id, state, due_in in rows:
            session.add(
                CallRow(
                    id=call_id,
                    agent_id="agt_1",
                    origin_kind="hook",
                    origin_name="tests",
                    state=state,
                    next_poll_at=None if due_in is None else now + timedelta(seconds=due_in),
                )
            )


def _claim(limit: int, owner: str = "w1") -> partial[list[str]]:
    return partial(
        claim_due_calls,
        unfollowed=UNPOLLED,
        owner=owner,
        limit=limit,
        until=utcnow() + timedelta(seconds=60),
        skip_locked=False,
    )


async def test_due_followed_calls_are_leased_earliest_first(database_url: str) -> None:
    db = Database(database_url)
    try:
        await db.migrate()
        await _calls(
            db,
            [
                ("late", CallState.STARTED, -1),
                ("early", CallState.LIVE, -30),
                ("ended", CallState.ENDED, -20),
                ("future", CallState.STARTED, 30),  # not due yet
                ("done", CallState.DELIVERED, -40),  # due, but no longer followed
                ("never", CallState.STARTED, None),  # nothing planned
            ],
        )
        assert await db.write(_claim(2)) == ["early", "ended"]
        # Leased: not due again until the lease runs out, so the next claim takes the rest.
        assert await db.write(_claim(10, owner="w2")) == ["late"]
        assert await db.write(_claim(10)) == []
        async with db.read() as session:
            rows = await session.execute(sa.select(CallRow.id, CallRow.lease_owner))
            owners = {call_id: owner for call_id, owner in rows}
        assert owners["early"] == "w1" and owners["late"] == "w2" and owners["future"] is None
    finally:
        await db.dispose()


async def test_sqlite_walks_the_next_poll_index_instead_of_sorting_every_followed_call(
    sqlite_url: str,
) -> None:
    found = await sqlite_plan(sqlite_url, due_query(list(UNPOLLED), 32, skip_locked=False))
    assert "ix_calls_next_poll_at" in found, found
    assert "TEMP B-TREE" not in found, found


async def test_a_quiet_look_counts_and_plans_the_next_one_keeping_a_hint(
    database_url: str,
) -> None:
    db = Database(database_url)
    try:
        await db.migrate()
        await _calls(db, [("quiet", CallState.STARTED, -1), ("moved", CallState.LIVE, -1)])
        assert len(await db.write(_claim(2))) == 2  # both leased to w1
        leased_until = utcnow() + timedelta(seconds=60)
        seen: list[tuple[str, int]] = []

        def plan(state: str, polls: int, created_at: object) -> float | None:
            seen.append((state, polls))
            return 30.0 if state == CallState.STARTED else None

        def look(call_id: str) -> partial[bool]:
            return partial(
                reschedule_quiet,
                call_id=call_id,
                upstream_status="queued",
                leased_until=leased_until,
                plan=plan,
                lock=db.is_postgres,
            )

        assert await db.write(look("quiet")) is True
        assert await db.write(look("moved")) is False  # not quiet: nothing written
        assert await db.write(look("nobody")) is False
        assert seen == [("started", 0), ("live", 0)]
        async with db.read() as session:
            rows = {r.id: r for r in (await session.execute(sa.select(CallRow))).scalars()}
        row = rows["quiet"]
        assert (row.poll_count, row.lease_owner, row.upstream_status) == (1, None, "queued")
        assert row.next_poll_at is not None
        assert utcnow() + timedelta(seconds=25) < row.next_poll_at < leased_until
        assert rows["moved"].poll_count == 0 and rows["moved"].lease_owner == "w1"
        # A webhook's hint (a look wanted before the lease ends) survives a quiet look.
        hint = utcnow() - timedelta(days=1)
        async with db.session() as session:
            (await session.get(CallRow, "quiet")).next_poll_at = hint  # type: ignore[union-attr]
        assert await db.write(look("quiet")) is True
        assert next_look(hint, leased_until, utcnow()) == hint
        async with db.read() as session:
            again = await session.get(CallRow, "quiet")
        assert again is not None and again.poll_count == 2 and again.next_poll_at == hint
    finally:
        await db.dispose()
