"""`call_destinations.merge_config`: a Slack card's thread reaches the call and its queued
delivery, never a delivered one, in a group-committed write (SQLite and PostgreSQL)."""

from __future__ import annotations

from functools import partial
from typing import Any

from gateway.store import call_destinations
from gateway.store.calls import CallRepository
from gateway.store.database import Database
from gateway.store.deliveries import DeliveryRepository
from gateway.store.tables import CallRow, utcnow

SLACK = {"kind": "slack", "key": "slack:C1", "config": {"channel": "C1", "thread_ts": None}}
HOOK = {"kind": "callback", "key": "cb:1", "config": {"url": "http://127.0.0.1:9/x"}}
CARD = {"card": {"channel": "C1", "ts": "1.5"}}


async def _call(db: Database, call_id: str, *, delivered: bool) -> None:
    now = utcnow()
    async with db.session() as session:
        await CallRepository(session).add(
            CallRow(
                id=call_id,
                agent_id="agt_1",
                origin_kind="slack",
                origin_name="T1/U1",
                origin_context={"team": "T1"},
                destinations=[SLACK, HOOK],
                state="started",
                created_at=now,
            )
        )
        row = await DeliveryRepository(session).add(
            call_id, "slack", "slack:C1", SLACK["config"], now=now
        )
        row.delivered_at = now if delivered else None


async def _read(db: Database, call_id: str) -> tuple[Any, dict[str, Any]]:
    async with db.read() as session:
        call = await CallRepository(session).get(call_id)
        (delivery,) = await DeliveryRepository(session).for_call(call_id)
    assert call is not None
    return call, delivery.config


async def test_merges_into_the_call_and_its_undelivered_delivery(database_url: str) -> None:
    db = Database(database_url)
    try:
        await db.migrate()
        await _call(db, "call_queued", delivered=False)
        await _call(db, "call_delivered", delivered=True)
        merge = partial(
            call_destinations.merge_config,
            key="slack:C1",
            changes={"thread_ts": "1.5"},
            origin_context=CARD,
        )
        for call_id in ("call_queued", "call_delivered"):
            assert await db.write(partial(merge, call_id=call_id)) is True
        assert await db.write(partial(merge, call_id="call_unknown")) is False

        threaded = {"channel": "C1", "thread_ts": "1.5"}
        call, queued = await _read(db, "call_queued")
        assert call.destinations == [{**SLACK, "config": threaded}, HOOK]
        assert call.origin_context == {"team": "T1", **CARD}
        assert queued == threaded
        call, delivered = await _read(db, "call_delivered")
        assert call.destinations == [{**SLACK, "config": threaded}, HOOK]
        assert delivered == SLACK["config"]  # already delivered: left as it was sent
    finally:
        await db.dispose()
