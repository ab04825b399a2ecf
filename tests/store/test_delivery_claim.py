"""The outbox's claim of due deliveries: on SQLite it walks an index in due order."""

from __future__ import annotations

from gateway.store.deliveries import due_deliveries
from gateway.store.tables import utcnow
from tests.store.plans import sqlite_plan


async def test_sqlite_walks_the_state_and_due_index_instead_of_sorting_every_pending_delivery(
    sqlite_url: str,
) -> None:
    found = await sqlite_plan(sqlite_url, due_deliveries(utcnow(), 32, skip_locked=False))
    assert "ix_deliveries_state_next_attempt_at (state=? AND next_attempt_at<?)" in found, found
    assert "TEMP B-TREE" not in found, found
