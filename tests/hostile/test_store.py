"""The store's side of faults and sign-out, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

from sqlalchemy.engine import make_url

from gateway.dashboard import revocations
from gateway.dashboard.session import DashboardSession
from gateway.store.database import Database
from tests.conftest import _pg_admin


async def test_a_writable_store_says_so(database_url: str) -> None:
    db = Database(database_url)
    try:
        await db.migrate()
        assert await db.can_write()
        assert await db.can_write()  # and it changed nothing a second time round
    finally:
        await db.dispose()


async def test_a_read_only_postgresql_database_is_not_writable(postgres_url: str) -> None:
    db = Database(postgres_url)
    try:
        await db.migrate()
        await db.dispose()
        name = make_url(postgres_url).database
        sql = f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'
        await asyncio.to_thread(_pg_admin, sql)
        assert await db.ping()  # it still answers reads...
        assert not await db.can_write()  # ...but /readyz must fail
    finally:
        await db.dispose()


async def test_sign_out_is_kept_for_that_session_only(database_url: str) -> None:
    db = Database(database_url)
    try:
        await db.migrate()
        gone = DashboardSession(csrf="csrf-of-the-signed-out-browser", expires=2**31)
        other = DashboardSession(csrf="csrf-of-another-browser", expires=2**31)
        assert not await revocations.is_revoked(db, gone)
        await revocations.revoke(db, gone)
        await revocations.revoke(db, gone)  # signing out twice is fine
        assert await revocations.is_revoked(db, gone)
        assert not await revocations.is_revoked(db, other)
    finally:
        await db.dispose()
