"""SQLite's query plan of a statement, for tests that check which index a query walks."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from gateway.store.database import Database


async def sqlite_plan(sqlite_url: str, stmt: sa.Executable) -> str:
    """`EXPLAIN QUERY PLAN` of `stmt` on a freshly migrated store, its steps joined by " | "."""
    db = Database(sqlite_url)
    try:
        await db.migrate()

        def plan(conn: sa.Connection) -> str:
            compiled: Any = stmt.compile(conn, compile_kwargs={"literal_binds": True})
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}")
            return " | ".join(str(row[-1]) for row in rows)

        return await db.write(plan)
    finally:
        await db.dispose()
