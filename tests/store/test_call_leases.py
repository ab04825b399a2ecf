"""The tracker's claim of due calls (`claim_due_calls`), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

import sqlalchemy as sa

from gateway.calls.states import UNPOLLED, CallState
from gateway.store.call_leases import claim_due_calls, due_query
from gateway.store.database import Database
from gateway.store.tables import CallRow, utcnow


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
    db = Database(sqlite_url)
    try:
        await db.migrate()

        def plan(conn: sa.Connection) -> str:
            stmt = due_query(list(UNPOLLED), 32, skip_locked=False)
            sql = str(stmt.compile(conn, compile_kwargs={"literal_binds": True}))
            return " | ".join(
                str(row[-1]) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")
            )

        found = await db.write(plan)
        assert "ix_calls_next_poll_at" in found, found
        assert "TEMP B-TREE" not in found, found
    finally:
        await db.dispose()
