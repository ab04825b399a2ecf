"""Signed-out dashboard sessions, kept in the store so sign-out holds on every replica.

A session cookie is signed and carries its own expiry; without this list a copied cookie
would still work after its browser signed out. Each signed-out session is kept (as a hash
of its id, never the id itself) under an idempotency-key scope of its own, for longer than
any session lives; the idempotency janitor deletes it once expired.
"""

from __future__ import annotations

import hashlib
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.dashboard.session import DashboardSession
from gateway.store.database import Database
from gateway.store.idempotency import is_done, remember

SCOPE = "dashboard:signed-out"


def _key(session: DashboardSession) -> str:
    return hashlib.sha256(session.csrf.encode()).hexdigest()


async def revoke(db: Database, session: DashboardSession) -> None:
    """Refuse this session from now on, on every replica."""
    body = {"signed_out": True}
    await db.write(partial(remember, scope=SCOPE, key=_key(session), status=200, body=body))


async def is_revoked(db: Database, session: DashboardSession) -> bool:
    """True once the session has signed out."""

    async def work(s: AsyncSession) -> bool:
        connection = await s.connection()
        return await connection.run_sync(lambda c: is_done(c, scope=SCOPE, key=_key(session)))

    return await db.reading(work)
