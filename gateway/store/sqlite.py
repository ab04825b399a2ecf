"""SQLite connections of the store: pragmas, how transactions begin, and the write lock.

WAL with synchronous=NORMAL (commits do not wait for the disk; a crash loses no committed
transaction, a power loss at most the last few), foreign keys on, and transactions begun by
SQLAlchemy, not by the driver (see `begin_immediate`).
"""

from __future__ import annotations

import sqlite3
from typing import Any

import sqlalchemy as sa


def pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Every SQLite connection's settings (a `connect` event listener)."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()
    # Let SQLAlchemy, not the driver, say when a transaction begins (see begin_immediate).
    dbapi_connection.isolation_level = None


def no_wait(dbapi_connection: Any, _record: Any) -> None:
    """The event loop's own connection: never wait for another process's write lock (the
    batch is handed to a thread that does, see `Database._commit_batch`)."""
    pragmas(dbapi_connection, _record)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=0")
    # Its commits never checkpoint: measured, one commit in a few hundred stalled for ~8 ms
    # (the checkpoint's fsync). `checkpoint` runs in a thread instead.
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.close()


def checkpoint(engine: sa.Engine) -> None:
    """Copy what the WAL holds into the database file, as far as readers allow (PASSIVE:
    it waits for no one); for a thread, never the event loop's."""
    # On the driver's connection, outside any transaction (SQLAlchemy would begin one).
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
        cursor.close()
    finally:
        connection.close()


def is_busy(exc: BaseException) -> bool:
    """True for SQLite's "database is locked" (another connection holds the write lock)."""
    orig = getattr(exc, "orig", exc)
    return isinstance(orig, sqlite3.OperationalError) and "locked" in str(orig)


def begin_deferred(conn: sa.Connection) -> None:
    # A read snapshot: in WAL mode it takes no lock and never waits for the writer.
    conn.exec_driver_sql("BEGIN")


def begin_immediate(conn: sa.Connection) -> None:
    # The driver's own transaction handling starts no transaction before a SELECT, so the reads
    # of one session would not see one snapshot. BEGIN IMMEDIATE takes the write lock up front:
    # a session sees one consistent state, and writers of other processes wait (busy_timeout)
    # instead of failing to upgrade a stale read snapshot.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


class Busy(Exception):
    """SQLite's write lock is held by another process: run the batch where waiting is fine."""
