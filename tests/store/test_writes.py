"""`Database.write`: group commit, failures that stay alone, and SQLite's lock held elsewhere."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from functools import partial
from pathlib import Path

import pytest
import sqlalchemy as sa

from gateway.store.database import INLINE_BATCH, Database


def _remember(key: str, conn: sa.Connection) -> str:
    conn.execute(
        sa.text(
            "INSERT INTO idempotency_keys (scope, key, request_hash, state, created_at, "
            "expires_at) VALUES ('test', :key, '', 'done', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
        ),
        {"key": key},
    )
    return key


def _keys(conn: sa.Connection) -> list[str]:
    rows = conn.execute(sa.text("SELECT key FROM idempotency_keys WHERE scope = 'test'"))
    return sorted(row[0] for row in rows)


def _fail(conn: sa.Connection) -> None:
    conn.execute(sa.text("SELECT 1"))
    raise ValueError("this unit fails")


async def test_concurrent_units_commit_together_and_each_gets_its_result(
    database_url: str,
) -> None:
    db = Database(database_url)
    try:
        await db.migrate()
        before = db.batches
        results = await asyncio.gather(*(db.write(partial(_remember, f"k{i}")) for i in range(50)))
        assert results == [f"k{i}" for i in range(50)]
        assert db.batches - before < 50  # at least some units shared a transaction
        assert await db.write(_keys) == sorted(f"k{i}" for i in range(50))
    finally:
        await db.dispose()


async def test_a_failing_unit_fails_alone(database_url: str) -> None:
    db = Database(database_url)
    try:
        await db.migrate()
        outcomes = await asyncio.gather(
            db.write(partial(_remember, "a")),
            db.write(_fail),
            db.write(partial(_remember, "b")),
            return_exceptions=True,
        )
        assert outcomes[0] == "a" and outcomes[2] == "b"
        assert isinstance(outcomes[1], ValueError)
        assert await db.write(_keys) == ["a", "b"]
    finally:
        await db.dispose()


async def test_sqlite_lock_held_by_another_process_never_blocks_the_loop(
    tmp_path: Path,
) -> None:
    """The loop's own batch does not wait for another connection's write lock: the batch goes
    to a thread that waits, and the loop keeps serving meanwhile."""
    path = tmp_path / "locked.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        await db.migrate()
        other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")  # another process's writer, holding the lock
        write = asyncio.create_task(db.write(partial(_remember, "late")))
        # The loop keeps running other tasks while the write waits for the lock.
        ticks = 0
        async with asyncio.timeout(5):  # a loop blocked on the lock would wait 10 s
            while ticks < 20:
                await asyncio.sleep(0.01)
                ticks += 1
        assert not write.done()
        release = threading.Timer(0.0, lambda: other.execute("COMMIT"))
        release.start()
        async with asyncio.timeout(15):
            assert await write == "late"
        release.join()
        other.close()
        assert await db.write(_keys) == ["late"]
    finally:
        await db.dispose()


@pytest.mark.parametrize("units", [1, 3])
async def test_units_after_a_busy_batch_still_commit(tmp_path: Path, units: int) -> None:
    path = tmp_path / "busy.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        await db.migrate()
        other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")
        writes = [asyncio.create_task(db.write(partial(_remember, f"u{i}"))) for i in range(units)]
        threading.Timer(0.0, lambda: other.execute("COMMIT")).start()
        async with asyncio.timeout(15):
            assert await asyncio.gather(*writes) == [f"u{i}" for i in range(units)]
        other.close()
        # The loop's own connection is usable again after the hand-over.
        assert await db.write(partial(_remember, "after")) == "after"
        assert await db.write(_keys) == sorted([*(f"u{i}" for i in range(units)), "after"])
    finally:
        await db.dispose()


async def test_a_burst_of_sqlite_writes_lets_the_loop_serve_others_between_batches(
    tmp_path: Path,
) -> None:
    """Batches run in the loop's thread take INLINE_BATCH units at most, and the loop runs
    other tasks between two of them (an ack never waits for a whole burst's writes)."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'burst.db'}")
    try:
        await db.migrate()
        units = 10 * INLINE_BATCH
        writes = asyncio.gather(*(db.write(partial(_remember, f"b{i}")) for i in range(units)))
        ticks = 0
        while not writes.done():
            await asyncio.sleep(0)
            ticks += 1
        assert len(await writes) == units
        assert ticks >= 9  # the loop ran between every two of the ten batches
    finally:
        await db.dispose()


async def test_prepared_statements_write_what_sqlalchemy_would(database_url: str) -> None:
    """Defaults of omitted columns, JSON and UTC datetimes, literal values and row counts are
    the same through `Prepared` as through SQLAlchemy (on SQLite it runs on the driver)."""
    from gateway.store.prepared import Prepared
    from gateway.store.tables import CallRow, utcnow

    calls: sa.Table = CallRow.__table__  # type: ignore[assignment]
    insert = Prepared(sa.insert(calls))
    finish = Prepared(
        sa.update(calls)
        .where(calls.c.id == sa.bindparam("w_id"), calls.c.state == "started")
        .values(state="live", origin_context=sa.bindparam("w_context", type_=sa.JSON))
    )
    now = utcnow()
    db = Database(database_url)
    try:
        await db.migrate()
        row = {
            "id": "call_prepared",
            "agent_id": "agt_1",
            "origin_kind": "hook",
            "origin_name": "lead",
            "destinations": [{"kind": "callback", "key": "k", "config": {"n": 1}}],
            "state": "started",
            "created_at": now,
            "next_poll_at": now,
        }
        assert await db.write(lambda conn: insert.execute(conn, row)) == 1
        params = {"w_id": "call_prepared", "w_context": {"thread": "1.2"}}
        assert await db.write(lambda conn: finish.execute(conn, params)) == 1
        assert await db.write(lambda conn: finish.execute(conn, params)) == 0  # not started now
        async with db.read() as session:
            stored = await session.get(CallRow, "call_prepared")
        assert stored is not None
        assert stored.call_type == "web" and stored.poll_count == 0  # defaults filled in
        assert stored.destinations == row["destinations"]
        assert stored.origin_context == {"thread": "1.2"} and stored.state == "live"
        assert stored.created_at == now and stored.created_at.tzinfo is not None
        assert stored.updated_at is not None
        if db.dialect == "sqlite":  # the same text as SQLAlchemy's own statements store
            async with db.session() as session:
                session.add(CallRow(**{**row, "id": "call_orm", "destinations": []}))
            texts = await db.write(
                lambda conn: conn.exec_driver_sql(
                    "SELECT id, created_at FROM calls ORDER BY id"
                ).all()
            )
            assert texts[0][1] == texts[1][1]  # call_orm, call_prepared: one format
            assert "+" not in texts[1][1]
    finally:
        await db.dispose()


@pytest.mark.postgres
async def test_a_write_connection_that_died_is_replaced_and_nothing_is_lost(
    postgres_url: str,
) -> None:
    """The write batches' pool pings no connection before use: one the server ended since
    (a restart, a failover) fails before anything is committed, and the batch runs again on
    a fresh connection."""
    import asyncpg

    db = Database(postgres_url)
    try:
        await db.migrate()
        assert await db.write(partial(_remember, "before")) == "before"
        admin = await asyncpg.connect(postgres_url.replace("postgresql+asyncpg", "postgresql"))
        try:
            ended = await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        finally:
            await admin.close()
        assert ended >= 1  # the pooled write connection among them
        assert await db.write(partial(_remember, "after")) == "after"
        assert await db.write(_keys) == ["after", "before"]
    finally:
        await db.dispose()


async def test_the_loops_connection_never_checkpoints_and_the_wal_is_copied_in_a_thread(
    tmp_path: Path,
) -> None:
    """A checkpoint's fsync stalls whoever commits; the loop's connection never checkpoints,
    a thread does every CHECKPOINT_EVERY batches, so the WAL does not grow without bound."""
    from gateway.store import database as store

    path = tmp_path / "wal.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        await db.migrate()
        wal = Path(str(path) + "-wal")
        for batch in range(store.CHECKPOINT_EVERY * 3):
            await db.write(partial(_remember, f"w{batch}"))
        async with asyncio.timeout(10):
            while db._checkpointing is not None and not db._checkpointing.done():
                await asyncio.sleep(0.01)
        assert db.checkpoints >= 1
        assert db._inline_engine is not None
        with db._inline_engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
        other = sqlite3.connect(path)
        try:
            assert other.execute("SELECT count(*) FROM idempotency_keys").fetchone()[0] == (
                store.CHECKPOINT_EVERY * 3
            )
            # A connection of its own checkpoints as SQLite does by default.
            assert other.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
        finally:
            other.close()
        assert wal.exists()
    finally:
        await db.dispose()
