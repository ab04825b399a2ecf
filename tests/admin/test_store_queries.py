"""The admin reads and the metrics' store gauges on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from gateway.admin import queries
from gateway.dashboard.charts import calls_per_hour, hour_starts, outcome_bars, total
from gateway.metrics import GatewayMetrics
from gateway.store.database import Database
from gateway.store.tables import CallRow, DeliveryRow, utcnow


def call_row(i: int, state: str, created_at: datetime, result: dict[str, Any] | None) -> CallRow:
    return CallRow(
        id=f"call_{i}",
        agent_id="agt_1",
        origin_kind="hook",
        origin_name="crm",
        state=state,
        created_at=created_at,
        result=result,
    )


async def seeded(url: str) -> Database:
    db = Database(url)
    await db.migrate()
    now = utcnow()
    async with db.session() as session:
        for i, (state, outcome) in enumerate(
            [("delivered", "Interested"), ("delivered", "Interested"), ("live", None)]
        ):
            result = {"outcome": outcome, "duration_seconds": 42} if outcome else None
            session.add(call_row(i, state, now - timedelta(minutes=i), result))
        await session.flush()
        for i, state in enumerate(["dead", "pending", "delivered"]):
            session.add(
                DeliveryRow(
                    id=f"msg_{i}",
                    call_id="call_0",
                    destination="callback",
                    destination_key=f"https://crm.example/{i}",
                    state=state,
                    next_attempt_at=now - timedelta(seconds=90) if state == "pending" else None,
                )
            )
    return db


async def test_lists_charts_and_replay(database_url: str) -> None:
    db = await seeded(database_url)
    try:
        calls = await queries.list_calls(db, limit=10, offset=0)
        assert [c.id for c in calls] == ["call_0", "call_1", "call_2"]
        assert (calls[0].outcome, calls[0].duration_seconds) == ("Interested", 42.0)
        counts = await queries.day_counts(db, queries.day_ago(), hour_starts(utcnow()))
        assert sorted((state, outcome, n) for _, state, outcome, n in counts) == [
            ("delivered", "Interested", 2),
            ("live", None, 1),
        ]
        failed = await queries.list_deliveries(db, limit=10, offset=0, failed=True)
        assert [d.id for d in failed] == ["msg_0"]
        replayed = await queries.replay_delivery(db, "msg_0", by="test")
        assert replayed.state == "pending"
        detail = await queries.call_detail(db, "call_0")
        assert detail is not None and len(detail.deliveries) == 3
    finally:
        await db.dispose()


async def test_store_gauges(database_url: str) -> None:
    db = await seeded(database_url)
    metrics = GatewayMetrics()
    try:
        await metrics.collect_store(db)
    finally:
        await db.dispose()
    text = metrics.render().decode()
    assert 'gateway_calls{state="delivered"} 2.0' in text
    assert 'gateway_deliveries{destination="callback",state="dead"} 1.0' in text
    (line,) = [x for x in text.splitlines() if x.startswith("gateway_oldest_due_delivery_seconds ")]
    age = float(line.split()[1])
    assert 89 <= age < 150


async def test_the_charts_count_a_day_of_calls_by_hour_state_and_outcome(database_url: str) -> None:
    db = Database(database_url)
    await db.migrate()
    now = datetime(2026, 11, 27, 12, 30, tzinfo=UTC)
    made = [
        (datetime(2026, 11, 26, 12, 0, tzinfo=UTC), "delivered", "Booked"),  # before the day
        (datetime(2026, 11, 26, 12, 45, tzinfo=UTC), "delivered", "Booked"),  # before 13:00
        (datetime(2026, 11, 26, 13, 0, tzinfo=UTC), "failed", None),  # the first hour
        (datetime(2026, 11, 27, 10, 59, 59, tzinfo=UTC), "delivered", "Booked"),
        (datetime(2026, 11, 27, 11, 0, tzinfo=UTC), "delivered", "Not interested"),
        (datetime(2026, 11, 27, 11, 5, tzinfo=UTC), "delivered", "Booked"),
        (datetime(2026, 11, 27, 12, 10, tzinfo=UTC), "live", None),  # the current hour
    ]
    try:
        async with db.session() as session:
            for i, (created, state, outcome) in enumerate(made):
                result = {"outcome": outcome} if outcome else {"summary": "no outcome"}
                session.add(call_row(i, state, created, result))
        starts = hour_starts(now)
        counts = await queries.day_counts(db, now - timedelta(hours=24), starts)
    finally:
        await db.dispose()

    assert sorted(counts) == [
        (-1, "delivered", "Booked", 1),
        (0, "failed", None, 1),
        (21, "delivered", "Booked", 1),
        (22, "delivered", "Booked", 1),
        (22, "delivered", "Not interested", 1),
        (23, "live", None, 1),
    ]
    assert total(counts) == 6
    columns = calls_per_hour(counts, starts)
    assert [(c.label, c.count) for c in columns if c.count] == [
        ("13:00", 1),
        ("10:00", 1),
        ("11:00", 2),
        ("12:00", 1),
    ]
    assert max(c.height for c in columns) == columns[22].height > columns[21].height
    bars = outcome_bars(counts)
    assert [(b.label, b.count) for b in bars] == [
        ("Booked", 3),
        ("(failed)", 1),
        ("(live)", 1),
        ("Not interested", 1),
    ]
