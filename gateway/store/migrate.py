"""Migrations safe for replicas: whoever starts first upgrades the schema, the others wait.

PostgreSQL: an advisory lock. SQLite: a lock file beside the database (and a process-wide lock,
since POSIX file locks do not exclude each other within one process).
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import threading
from pathlib import Path
from typing import IO

import sqlalchemy as sa
import structlog
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.store.revisions import alembic_config

log = structlog.get_logger(__name__)

# An arbitrary constant: the PostgreSQL advisory lock that serialises migrations.
MIGRATION_LOCK_ID = 0x6F6E6562
_SQLITE_MIGRATION_LOCK = threading.Lock()


async def migrate(engine: AsyncEngine, url: str) -> None:
    """Bring the schema of `engine` (at `url`) to the newest revision, one process at a time."""
    if engine.dialect.name == "postgresql":
        await _migrate_locked(engine, url)
        return
    lock_file = await asyncio.to_thread(_lock_sqlite, url)
    try:
        await _migrate_locked(engine, url)
    finally:
        lock_file.close()
        _SQLITE_MIGRATION_LOCK.release()


def _lock_sqlite(url: str) -> IO[bytes]:
    _SQLITE_MIGRATION_LOCK.acquire()
    database = make_url(url).database or ":memory:"
    path = Path(database + ".migrate.lock") if database != ":memory:" else None
    handle = path.open("ab") if path else open(os.devnull, "ab")  # noqa: SIM115
    fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
    return handle


async def _migrate_locked(engine: AsyncEngine, url: str) -> None:
    postgres = engine.dialect.name == "postgresql"
    async with engine.connect() as conn:
        if postgres:
            await conn.execute(sa.text("SELECT pg_advisory_lock(:id)"), {"id": MIGRATION_LOCK_ID})
            await conn.commit()
        try:
            await conn.run_sync(_upgrade, url)
            await conn.commit()
        finally:
            if postgres:
                await conn.execute(
                    sa.text("SELECT pg_advisory_unlock(:id)"), {"id": MIGRATION_LOCK_ID}
                )
                await conn.commit()
    log.info("store.migrated", dialect=engine.dialect.name)


def _upgrade(connection: sa.Connection, url: str) -> None:
    config = alembic_config(url)
    config.attributes["connection"] = connection
    from alembic import command  # lazily (start-up speed), as in `alembic_config`

    command.upgrade(config, "head")
