"""`Database.writing`: ORM write code run whole at once, on SQLite as a unit of a write batch."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.store.calls import CallRepository
from gateway.store.database import Database
from gateway.store.immediate import Suspended
from gateway.store.tables import CallRow


def _call(call_id: str) -> CallRow:
    return CallRow(
        id=call_id, agent_id="agt_1", origin_kind="hook", origin_name="crm", state="started"
    )


async def test_a_write_is_stored_with_its_event_and_its_answer_returned(db: Database) -> None:
    async def work(session: AsyncSession) -> str:
        row = await CallRepository(session).add(_call("call_w1"), detail="made")
        await CallRepository(session).move(row, "live", detail="joined")
        return row.state

    assert await db.writing(work) == "live"
    async with db.read() as session:
        row = await CallRepository(session).get("call_w1")
        events = await CallRepository(session).events("call_w1")
    assert row is not None and row.state == "live"
    assert [e.to_state for e in events] == ["started", "live"]


async def test_concurrent_writes_share_a_batch_and_one_that_fails_fails_alone(
    db: Database,
) -> None:
    async def make(session: AsyncSession, call_id: str) -> str:
        await CallRepository(session).add(_call(call_id))
        return call_id

    async def broken(session: AsyncSession) -> str:
        await CallRepository(session).add(_call("call_broken"))
        raise ValueError("this unit fails")

    batches = db.batches
    results = await asyncio.gather(
        db.writing(lambda s: make(s, "call_a")),
        db.writing(broken),
        db.writing(lambda s: make(s, "call_b")),
        return_exceptions=True,
    )
    assert results[0] == "call_a" and results[2] == "call_b"
    assert isinstance(results[1], ValueError)
    async with db.read() as session:
        calls = CallRepository(session)
        assert await calls.get("call_a") is not None and await calls.get("call_b") is not None
        assert await calls.get("call_broken") is None  # nothing of the failed unit stayed
    if not db.is_postgres:  # the other units committed together, not one by one
        assert db.batches - batches <= 2


async def test_write_code_that_awaits_anything_else_is_refused_on_sqlite(sqlite_url: str) -> None:
    db = Database(sqlite_url)
    await db.migrate()

    async def work(session: AsyncSession) -> None:
        await CallRepository(session).add(_call("call_never"))
        await asyncio.sleep(0)

    try:
        with pytest.raises(Suspended):
            await db.writing(work)
        async with db.read() as session:
            assert await CallRepository(session).get("call_never") is None
    finally:
        await db.dispose()
