"""The store on real SQLite and real PostgreSQL: migrations, calls, transitions."""

from __future__ import annotations

import asyncio

import pytest

from gateway.calls.machine import CallMachine
from gateway.calls.states import CallState, IllegalTransition
from gateway.store.agents import AgentRepository
from gateway.store.database import Database
from gateway.store.tables import CallRow, utcnow


def new_call(call_id: str) -> CallRow:
    return CallRow(
        id=call_id,
        agent_id="agt_1",
        origin_kind="hook",
        origin_name="new-lead",
        origin_context={"crm_contact_id": "51"},
        state=str(CallState.STARTED),
        next_poll_at=utcnow(),
    )


async def test_migrations_run_twice_and_create_every_table(database_url: str) -> None:
    db = Database(database_url)
    try:
        await db.migrate()
        await db.migrate()  # a restart: nothing to do, no error
        assert await db.ping()
        async with db.session() as session:
            calls = CallMachine(session)
            await calls.add(new_call("call_1"), detail="test")
        async with db.session() as session:
            row = await CallMachine(session).get("call_1")
            assert row is not None
            assert row.origin_context == {"crm_contact_id": "51"}
            assert row.created_at.tzinfo is not None
    finally:
        await db.dispose()


async def test_replicas_migrating_at_once_all_succeed(database_url: str) -> None:
    dbs = [Database(database_url) for _ in range(3)]
    try:
        await asyncio.gather(*(db.migrate() for db in dbs))
        async with dbs[0].session() as session:
            await CallMachine(session).add(new_call("call_x"))
    finally:
        for db in dbs:
            await db.dispose()


async def test_a_transition_is_recorded_and_an_illegal_one_refused(database_url: str) -> None:
    db = Database(database_url)
    try:
        await db.migrate()
        async with db.session() as session:
            await CallMachine(session).add(new_call("call_2"))
        async with db.session() as session:
            calls = CallMachine(session)
            row = await calls.get("call_2")
            assert row is not None
            await calls.transition(row, CallState.LIVE, detail="joined", live_at=utcnow())
        async with db.session() as session:
            calls = CallMachine(session)
            row = await calls.get("call_2")
            assert row is not None and row.state == "live" and row.live_at is not None
            with pytest.raises(IllegalTransition):
                await calls.transition(row, CallState.DELIVERED)
            events = await calls.events("call_2")
            assert [(e.from_state, e.to_state) for e in events] == [
                (None, "started"),
                ("started", "live"),
            ]
    finally:
        await db.dispose()


async def test_two_workers_cannot_both_make_the_same_move(database_url: str) -> None:
    db = Database(database_url)
    try:
        await db.migrate()
        async with db.session() as session:
            await CallMachine(session).add(new_call("call_3"))
        async with db.session() as session:
            stale = await CallMachine(session).get("call_3")
        assert stale is not None
        async with db.session() as session:
            fresh = await CallMachine(session).get("call_3")
            assert fresh is not None
            await CallMachine(session).transition(fresh, CallState.LIVE)
        with pytest.raises(IllegalTransition):
            async with db.session() as session:
                await CallMachine(session).transition(stale, CallState.LIVE)
    finally:
        await db.dispose()


async def test_an_agent_name_moves_to_the_newest_agent(database_url: str) -> None:
    db = Database(database_url)
    try:
        await db.migrate()
        async with db.session() as session:
            await AgentRepository(session).remember("agt_a", "Sales", "llm_a")
        async with db.session() as session:
            await AgentRepository(session).remember("agt_b", "sales", "llm_b")
        async with db.session() as session:
            agents = AgentRepository(session)
            found = await agents.by_name("SALES")
            assert found is not None and found.id == "agt_b"
            assert await agents.get("agt_a") is None
    finally:
        await db.dispose()
