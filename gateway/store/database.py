"""The database: engine, sessions, group-committed writes, and migrations safe for replicas.

Three ways in:
- `read()`: a snapshot for reads. No lock is taken: on SQLite (WAL) readers never wait for
  the writer, so the dashboard and look-ups do not queue behind a burst of writes.
  `reading(work)` is the same for read code run whole in one go: on a SQLite file in a
  worker thread (one thread hop instead of several per statement).
- `writing(work)`: ORM write code run whole in one go; on a SQLite file a unit of the next
  write batch (no thread hop, and no write lock held across hops).
- `write(unit)`: the hot path's writes. `unit` is a plain function of a synchronous
  `sa.Connection`; units of many requests are committed together in one transaction (group
  commit) and each caller awaits its own unit's result. On a SQLite file the batch runs in the
  event loop's own thread over the standard `sqlite3` driver (WAL with synchronous=NORMAL
  commits without waiting for the disk, so a batch takes well under a millisecond; a thread
  hop per batch cost more than the batch, and its Python competed with the loop for the GIL).
  When another process holds SQLite's write lock the batch goes to a thread that waits for
  it, so the loop never blocks on another process. On PostgreSQL it runs on the asyncpg
  engine. A unit that raises is retried alone, so it fails alone.
- `session()`: an ORM session in a write transaction, for everything else. On SQLite the
  sessions and write batches of one process take turns (`BEGIN IMMEDIATE`).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
import structlog
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session

from gateway import jsontext
from gateway.store import sqlite
from gateway.store.immediate import run_on
from gateway.store.migrate import migrate

log = structlog.get_logger(__name__)

T = TypeVar("T")
Unit = Callable[[sa.Connection], Any]
# Units committed together at most; more wait for the next batch.
MAX_BATCH = 256
# At most this many in a batch run in the event loop's thread (SQLite), which serves other
# requests between two batches: a burst of writes never holds it for long in one go.
INLINE_BATCH = 16
# Loop turns the writer waits before it takes its first batch, so that the units of callbacks
# already due (answers from OneInbox, other requests' claims) join the same commit. Measured on
# the hooks benchmark (SQLite, 16 connections): 5.0 units per commit without, 10 with two
# turns, and 12-15% less of the event loop per hook (a commit writes every page it touched);
# four turns, on a faster machine, 9-27% more hooks/s than two in three paired runs (46 -> 43
# KiB written per hook), eight fewer than four.
GATHER_YIELDS = 4
# Write batches PostgreSQL commits at once (each on a connection of the write pool).
POSTGRES_WRITERS = 3
# Batches the loop's own SQLite connection commits between two checkpoints (in a thread).
CHECKPOINT_EVERY = 200

_HOLDS_TURN: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "holds_sqlite_turn", default=False
)


class _Stale(Exception):
    """The write connection was dead before anything was committed: retry on a fresh one."""


def _is_stale(exc: BaseException) -> bool:
    return isinstance(exc, sa.exc.DBAPIError) and bool(exc.connection_invalidated)


def _write_at_once(conn: sa.Connection, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """A write unit (`Database.writing`): `work` on an ORM session over the batch's connection,
    in a savepoint, so a unit that fails leaves the batch's other units as they were."""
    with Session(
        bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False
    ) as session:
        result = run_on(session, work)
        session.commit()  # releases the savepoint; the batch commits
    return result


def _sqlite_file_engine(
    url: sa.URL,
    echo: bool,
    on_connect: Callable[[Any, Any], None],
    on_begin: Callable[[sa.Connection], None],
    **kwargs: Any,
) -> sa.Engine:
    """A synchronous engine on a SQLite file over the standard `sqlite3` driver, usable from
    any thread, with its connections' settings and how its transactions begin."""
    engine = sa.create_engine(
        url,
        echo=echo,
        json_serializer=jsontext.dumps,
        connect_args={"check_same_thread": False},
        **kwargs,
    )
    event.listen(engine, "connect", on_connect)
    event.listen(engine, "begin", on_begin)
    return engine


class Database:
    """One engine and session factory for the whole process."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        parsed = make_url(url)
        self.dialect = parsed.get_backend_name()
        # JSON columns are written by orjson (see `gateway.jsontext`).
        kwargs: dict[str, Any] = {"echo": echo, "json_serializer": jsontext.dumps}
        if self.dialect == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        else:
            kwargs.update(pool_size=10, max_overflow=10, pool_pre_ping=True)
        # SQLite has one writer at a time; when two transactions of this process collide, its
        # busy handler sleeps in growing steps. Taking turns in the event loop instead is far
        # faster under load. Re-entrant per task (a session opened inside another passes).
        self._turn = asyncio.Lock()
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        self.read_engine = self.engine
        # Where write batches run: a synchronous pysqlite engine on a SQLite file (one thread
        # hop per batch), else the async engine itself (asyncpg needs no thread at all).
        self._batch_engine: sa.Engine | None = None
        # The batch engine of the event loop's thread on a SQLite file (busy_timeout=0).
        self._inline_engine: sa.Engine | None = None
        self._thread_reads: sa.Engine | None = None
        self._inline_commits = 0
        self._inline_conn: sa.Connection | None = None
        self._checkpointing: asyncio.Task[None] | None = None
        if self.dialect == "sqlite":
            event.listen(self.engine.sync_engine, "connect", sqlite.pragmas)
            event.listen(self.engine.sync_engine, "begin", sqlite.begin_immediate)
            if parsed.database and parsed.database != ":memory:":
                # Readers on a file of their own connections: a WAL snapshot each, no lock.
                # (An in-memory database is one per connection: its reads stay on `engine`.)
                self.read_engine = create_async_engine(url, **kwargs)
                event.listen(self.read_engine.sync_engine, "connect", sqlite.pragmas)
                event.listen(self.read_engine.sync_engine, "begin", sqlite.begin_deferred)
                file = partial(_sqlite_file_engine, parsed.set(drivername="sqlite"), echo)
                # Reads run whole in a thread (`reading`): the standard driver, WAL snapshots.
                self._thread_reads = file(sqlite.pragmas, sqlite.begin_deferred)
                self._batch_engine = file(sqlite.pragmas, sqlite.begin_immediate)
                self._inline_engine = file(
                    sqlite.no_wait, sqlite.begin_immediate, poolclass=sa.pool.StaticPool
                )
        # PostgreSQL's write batches have a pool of their own without a ping per checkout (a
        # round trip per batch), a connection for each of the `POSTGRES_WRITERS` batches that
        # may run at once; one found dead before anything was committed is replaced and the
        # batch run again (see `_commit_batch`).
        self._write_engine: AsyncEngine | None = None
        if self.dialect != "sqlite":
            self._write_engine = create_async_engine(
                url,
                echo=echo,
                json_serializer=jsontext.dumps,
                pool_size=POSTGRES_WRITERS,
                max_overflow=2,
                pool_pre_ping=False,
            )
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self.readers = async_sessionmaker(self.read_engine, expire_on_commit=False)
        self._pending: list[tuple[Unit, asyncio.Future[Any]]] = []
        self._writers: set[asyncio.Task[None]] = set()
        self._committing = 0  # writers inside a commit (the others still gather units)
        # SQLite has one writer; PostgreSQL commits a few batches at once, each on its own
        # connection: a batch is one round trip per statement, and one at a time left the
        # event loop idle a third of the time while hooks queued (measured).
        self._max_writers = 1 if self.dialect == "sqlite" else POSTGRES_WRITERS
        self.checkpoints = 0  # WAL checkpoints run in a thread (SQLite file)
        self.batches = 0  # write batches committed (a metric; units / batches = batch size)

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session in a transaction: committed on success, rolled back on error."""
        if self.dialect != "sqlite" or _HOLDS_TURN.get():
            async with self.sessions() as session, session.begin():
                yield session
            return
        async with self._turn:
            token = _HOLDS_TURN.set(True)
            try:
                async with self.sessions() as session, session.begin():
                    yield session
            finally:
                _HOLDS_TURN.reset(token)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A read-only session over one consistent snapshot; takes no write lock."""
        async with self.readers() as session, session.begin():
            yield session

    async def reading(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """`await work(session)` on a read snapshot, as `read()` gives; on a SQLite file, run
        whole in a worker thread over the `sqlite3` driver: one thread hop for all of it,
        where aiosqlite takes several per statement, each waiting a turn of the event loop
        (see `gateway.store.immediate`). `work` must await nothing but its session."""
        if self._thread_reads is None:
            async with self.read() as session:
                return await work(session)
        return await asyncio.to_thread(self._read_at_once, self._thread_reads, work)

    async def writing(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """`await work(session)` in a write transaction, as `session()` gives; on a SQLite
        file, as a unit of the next write batch: `work` runs at once on an ORM session over
        the batch's connection (in a savepoint of its own), committed with the other units,
        where a session of its own held SQLite's write lock across aiosqlite's thread hops.
        `work` must await nothing but its session, and may run twice: when another unit of
        its batch fails, the batch is rolled back and each unit runs again alone, so effects
        outside the session (a log line) may repeat. (PostgreSQL keeps a transaction for each:
        units that lock rows, batched, could deadlock with other replicas' batches.)"""
        if self._inline_engine is None:
            async with self.session() as session:
                return await work(session)
        return await self.write(partial(_write_at_once, work=work))

    @staticmethod
    def _read_at_once(engine: sa.Engine, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        with Session(engine, expire_on_commit=False) as session, session.begin():
            return run_on(session, work)

    async def write(self, unit: Callable[[sa.Connection], T]) -> T:
        """Run `unit(connection)` in a transaction shared with other callers' units; return
        its result once that transaction has committed (raise what it raised, alone).

        Never call it from inside `session()` on SQLite: the batch waits for that session.
        """
        if self.dialect == "sqlite" and _HOLDS_TURN.get():
            raise RuntimeError("Database.write inside Database.session would wait for itself")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._pending.append((unit, future))
        if len(self._writers) < self._max_writers and self._committing == len(self._writers):
            # A task of its own: a caller that is cancelled does not stop others' commits.
            self._writers.add(asyncio.create_task(self._drain(), name="store.writer"))
        return await future

    async def _drain(self) -> None:
        try:
            await self._drain_pending()
        finally:
            # Here, not in a done callback: between the last look at `_pending` and leaving
            # the set no unit can be added unseen (a callback runs a loop turn later).
            task = asyncio.current_task()
            assert task is not None
            self._writers.discard(task)

    async def _drain_pending(self) -> None:
        size = MAX_BATCH if self._inline_engine is None else INLINE_BATCH
        for _ in range(GATHER_YIELDS):  # let the units of callbacks already due join in
            await asyncio.sleep(0)
        while self._pending:
            batch, self._pending = self._pending[:size], self._pending[size:]
            self._committing += 1
            try:
                outcomes = await self._commit_batch([unit for unit, _ in batch])
            except BaseException as exc:  # the commit itself failed: every unit failed
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                if isinstance(exc, asyncio.CancelledError):
                    raise
                continue
            finally:
                self._committing -= 1
            for (_, future), (ok, value) in zip(batch, outcomes, strict=True):
                if future.done():
                    continue
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)
            if self._pending:
                await asyncio.sleep(0)  # let the loop serve others before the next batch

    async def _commit_batch(self, units: list[Unit]) -> list[tuple[bool, Any]]:
        if self._batch_engine is not None and self._inline_engine is not None:
            async with self._turn:
                try:
                    outcomes = self._run_inline(self._inline_engine, units)
                except sqlite.Busy:  # another process writes: wait for it in a thread
                    return await asyncio.to_thread(self._run_units, self._batch_engine, units)
            self._inline_commits += 1
            if self._inline_commits % CHECKPOINT_EVERY == 0:
                self._checkpoint_soon(self._batch_engine)
            return outcomes
        if self.dialect == "sqlite":
            async with self._turn, self.engine.connect() as conn:
                return await conn.run_sync(lambda c: self._run_units_on(c, units))
        engine = self._write_engine or self.engine
        for fresh in (False, True):
            try:
                async with engine.connect() as conn:
                    return await conn.run_sync(
                        partial(self._run_units_on, units=units, stale_fails=not fresh)
                    )
            except _Stale:
                log.info("store.write_connection_replaced")
        raise AssertionError("unreachable: a fresh connection never raises _Stale")

    def _run_inline(self, engine: sa.Engine, units: list[Unit]) -> list[tuple[bool, Any]]:
        """A batch on the loop's own connection, kept open from one batch to the next."""
        if self._inline_conn is None or self._inline_conn.closed:
            self._inline_conn = engine.connect()
        return self._run_units_on(self._inline_conn, units, busy_fails=True)

    def _checkpoint_soon(self, engine: sa.Engine) -> None:
        """Copy the WAL into the database file in a thread (the loop's own connection never
        does: a checkpoint's fsync would stall every request for milliseconds)."""
        if self._checkpointing is not None and not self._checkpointing.done():
            return
        self._checkpointing = asyncio.create_task(self._checkpoint(engine), name="store.checkpoint")

    async def _checkpoint(self, engine: sa.Engine) -> None:
        try:
            await asyncio.to_thread(sqlite.checkpoint, engine)
        except Exception:  # the next one copies what this one could not
            log.warning("store.checkpoint_failed", exc_info=True)
            return
        self.checkpoints += 1

    def _run_units(
        self, engine: sa.Engine, units: list[Unit], *, busy_fails: bool = False
    ) -> list[tuple[bool, Any]]:
        with engine.connect() as conn:
            return self._run_units_on(conn, units, busy_fails=busy_fails)

    def _run_units_on(
        self,
        conn: sa.Connection,
        units: list[Unit],
        *,
        busy_fails: bool = False,
        stale_fails: bool = False,
    ) -> list[tuple[bool, Any]]:
        """All units in one transaction; if one raises, each runs again in its own.

        `busy_fails`: SQLite's write lock held elsewhere raises `sqlite.Busy` (nothing committed).
        `stale_fails`: a connection that turns out dead before the commit raises `_Stale`
        (nothing committed; a failed commit may have been applied, so it is never retried).
        """
        committing = False
        try:
            with conn.begin():
                results = [unit(conn) for unit in units]
                committing = True
        except Exception as exc:
            if busy_fails and sqlite.is_busy(exc):
                raise sqlite.Busy from exc
            if stale_fails and not committing and _is_stale(exc):
                raise _Stale from exc
            if len(units) == 1:
                return [(False, exc)]
            return [
                item
                for unit in units
                for item in self._run_units_on(conn, [unit], busy_fails=busy_fails)
            ]
        self.batches += 1
        return [(True, result) for result in results]

    async def migrate(self) -> None:
        """Bring the schema to the newest revision; replicas that start together wait in turn
        (see `gateway.store.migrate`)."""
        await migrate(self.engine, self.url)

    async def ping(self) -> bool:
        """True when the database answers a trivial query."""
        try:
            async with self.engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
        except Exception:
            log.warning("store.unreachable", exc_info=True)
            return False
        return True

    async def can_write(self) -> bool:
        """True when a write commits (a full disk or a read-only file or server says False).

        Rewrites the one row of `alembic_version` with its own value: a real write and commit
        on SQLite and PostgreSQL alike, with nothing changed.
        """
        try:
            async with self.session() as session:
                await session.execute(
                    sa.text("UPDATE alembic_version SET version_num = version_num")
                )
        except Exception as exc:
            log.warning("store.not_writable", error=f"{type(exc).__name__}: {exc}")
            return False
        return True

    async def dispose(self) -> None:
        if self._checkpointing is not None:
            with contextlib.suppress(Exception):
                await self._checkpointing
        if self._writers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(asyncio.gather(*self._writers)), timeout=10)
        await self.engine.dispose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()
        if self._thread_reads is not None:
            self._thread_reads.dispose()
        if self._write_engine is not None:
            await self._write_engine.dispose()
        if self._inline_conn is not None:
            self._inline_conn.close()
        for engine in (self._batch_engine, self._inline_engine):
            if engine is not None:
                engine.dispose()
