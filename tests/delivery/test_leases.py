"""Outbox leases in the store: replicas never claim the same row, and a try whose worker
died is handed on marked `uncertain` (so Slack checks its thread before posting again)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
import sqlalchemy as sa

from gateway.delivery.outbox import Outbox
from gateway.delivery.registry import DestinationRegistry
from gateway.store.database import Database
from gateway.store.deliveries import DeliveryRepository
from gateway.store.tables import DeliveryRow, utcnow
from tests.delivery.seed import analyzed_call

CALLS = 40


async def finished_calls(db: Database, outbox: Outbox, count: int) -> list[str]:
    ids = [f"call_lease_{n}" for n in range(count)]
    for call_id in ids:
        await analyzed_call(db, outbox, call_id, [{"kind": "log", "key": "log", "config": {}}])
    return ids


async def test_two_workers_never_claim_the_same_delivery(db: Database) -> None:
    a = Outbox(db, DestinationRegistry(), identity="replica-a")
    b = Outbox(db, DestinationRegistry(), identity="replica-b")
    await finished_calls(db, a, CALLS)
    if db.is_postgres:  # replicas claim at the same moment
        first, second = await asyncio.gather(a.claim_due(25), b.claim_due(25))
    else:  # SQLite serves one process; claims follow each other
        first, second = await a.claim_due(25), await b.claim_due(25)
    ids_a = {c.row.id for c in first}
    ids_b = {c.row.id for c in second}
    assert not ids_a & ids_b
    assert len(ids_a | ids_b) == CALLS
    assert not any(c.uncertain for c in [*first, *second])
    assert await a.claim_due(10) == []  # everything is leased


async def test_a_dead_workers_lease_runs_out_and_the_next_try_is_uncertain(db: Database) -> None:
    dead = Outbox(db, DestinationRegistry(), identity="dead")
    await finished_calls(db, dead, 1)
    [claimed] = await dead.claim_due(1)
    heir = Outbox(db, DestinationRegistry(), identity="heir")
    assert await heir.claim_due(1) == []  # the lease still holds
    async with db.session() as session:
        await session.execute(
            sa.update(DeliveryRow).values(lease_expires_at=utcnow() - timedelta(seconds=1))
        )
    [again] = await heir.claim_due(1)
    assert again.row.id == claimed.row.id
    assert again.uncertain
    assert again.row.lease_owner == "heir"


async def test_a_restart_on_sqlite_takes_back_every_lease_at_once(db: Database) -> None:
    if db.is_postgres:
        pytest.skip("PostgreSQL replicas wait for leases to run out instead")
    crashed = Outbox(db, DestinationRegistry(), identity="crashed")
    await finished_calls(db, crashed, 3)
    assert len(await crashed.claim_due(3)) == 3
    async with db.session() as session:  # what Outbox.start() does first on SQLite
        assert await DeliveryRepository(session).expire_all_leases() == 3
    claimed = await Outbox(db, DestinationRegistry(), identity="restarted").claim_due(3)
    assert len(claimed) == 3
    assert all(c.uncertain for c in claimed)
