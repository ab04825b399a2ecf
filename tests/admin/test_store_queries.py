"""The admin reads and the metrics' store gauges on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import timedelta

from gateway.admin import queries
from gateway.metrics import GatewayMetrics
from gateway.store.database import Database
from gateway.store.tables import CallRow, DeliveryRow, utcnow


async def seeded(url: str) -> Database:
    db = Database(url)
    await db.migrate()
    now = utcnow()
    async with db.session() as session:
        for i, (state, outcome) in enumerate(
            [("delivered", "Interested"), ("delivered", "Interested"), ("live", None)]
        ):
            session.add(
                CallRow(
                    id=f"call_{i}",
                    agent_id="agt_1",
                    origin_kind="hook",
                    origin_name="crm",
                    state=state,
                    created_at=now - timedelta(minutes=i),
                    result={"outcome": outcome, "duration_seconds": 42} if outcome else None,
                )
            )
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
        points = await queries.chart_points(db, queries.day_ago())
        assert sorted(outcome or "-" for _, _, outcome in points) == [
            "-",
            "Interested",
            "Interested",
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
