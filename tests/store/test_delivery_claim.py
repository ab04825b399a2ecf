"""The outbox's claim of due deliveries: on SQLite it walks an index in due order."""

from __future__ import annotations

import sqlalchemy as sa

from gateway.store.database import Database
from gateway.store.deliveries import due_deliveries
from gateway.store.tables import utcnow


async def test_sqlite_walks_the_state_and_due_index_instead_of_sorting_every_pending_delivery(
    sqlite_url: str,
) -> None:
    db = Database(sqlite_url)
    try:
        await db.migrate()

        def plan(conn: sa.Connection) -> str:
            stmt = due_deliveries(utcnow(), 32, skip_locked=False)
            sql = str(stmt.compile(conn, compile_kwargs={"literal_binds": True}))
            return " | ".join(
                str(row[-1]) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")
            )

        found = await db.write(plan)
        assert "ix_deliveries_state_next_attempt_at (state=? AND next_attempt_at<?)" in found, found
        assert "TEMP B-TREE" not in found, found
    finally:
        await db.dispose()
