"""`Database.reading`: read code written against AsyncSession, run whole at once."""

from __future__ import annotations

import asyncio
import threading

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.store.calls import CallRepository
from gateway.store.database import Database
from gateway.store.immediate import Suspended, run_at_once
from gateway.store.tables import CallEventRow, CallRow


async def _seed(db: Database) -> None:
    async with db.session() as session:
        await CallRepository(session).add(
            CallRow(
                id="call_r1",
                agent_id="agt_1",
                origin_kind="hook",
                origin_name="crm",
                state="started",
            ),
            detail="seeded",
        )


async def test_reading_answers_what_a_read_session_answers(db: Database) -> None:
    await _seed(db)

    async def work(session: AsyncSession) -> tuple[str | None, int, bool]:
        calls = CallRepository(session)
        row = await calls.get("call_r1")
        events = await calls.events("call_r1")
        gone = await session.get(CallRow, "call_nope")
        return (row.state if row else None), len(events), gone is None

    async with db.read() as session:
        expected = await work(session)
    assert expected == ("started", 1, True)
    assert await db.reading(work) == expected


async def test_reading_sees_what_was_committed_just_before(db: Database) -> None:
    await _seed(db)
    async with db.session() as session:
        calls = CallRepository(session)
        row = await calls.get("call_r1")
        assert row is not None
        await calls.move(row, "live", detail="joined")
    row = await db.reading(lambda session: CallRepository(session).get("call_r1"))
    assert row is not None and row.state == "live"
    events = await db.reading(lambda session: CallRepository(session).events("call_r1"))
    assert [e.to_state for e in events] == ["started", "live"]
    assert all(isinstance(e, CallEventRow) for e in events)


async def test_on_a_sqlite_file_the_read_runs_in_one_worker_thread(sqlite_url: str) -> None:
    db = Database(sqlite_url)
    await db.migrate()
    try:
        await _seed(db)
        seen: list[int] = []

        async def work(session: AsyncSession) -> CallRow | None:
            seen.append(threading.get_ident())
            row = await CallRepository(session).get("call_r1")
            seen.append(threading.get_ident())
            return row

        row = await db.reading(work)
    finally:
        await db.dispose()
    assert row is not None and row.id == "call_r1"
    assert len(set(seen)) == 1 and seen[0] != threading.get_ident()


async def test_read_code_that_awaits_anything_else_is_refused_loudly(sqlite_url: str) -> None:
    db = Database(sqlite_url)
    await db.migrate()

    async def work(session: AsyncSession) -> None:
        await asyncio.sleep(0)  # not the session: would need an event loop in the thread

    try:
        with pytest.raises(Suspended):
            await db.reading(work)
    finally:
        await db.dispose()


def test_run_at_once_returns_the_value_of_a_coroutine_that_never_suspends() -> None:
    async def answer() -> int:
        return 42

    assert run_at_once(answer()) == 42
