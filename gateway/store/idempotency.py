"""Idempotency keys: a repeated request gets the first answer and starts nothing.

A key is claimed with one `INSERT … ON CONFLICT DO NOTHING` on the `(scope, key)` unique
constraint, so of two concurrent identical requests exactly one wins, on SQLite as on
PostgreSQL. The winner acts, then records its answer (`complete`) or gives the key back
(`release`) when it started nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.store.tables import IdempotencyKeyRow, utcnow

KEY_LIFETIME = timedelta(hours=24)
MAX_KEY_LENGTH = 300


def request_hash(raw: bytes) -> str:
    """The fingerprint that tells a true repeat from a different request under the same key."""
    return hashlib.sha256(raw).hexdigest()


def _stored_key(key: str) -> str:
    """Keys longer than the column are kept as their hash, so long keys never collide."""
    if len(key) <= MAX_KEY_LENGTH:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class Claim:
    """The outcome of `claim`.

    `claimed`: this request owns the key and may act. `replay`: a finished earlier request;
    answer with `status` and `body`. `in_progress`: the first request is still running.
    `mismatch`: the key was used for a different request body.
    """

    outcome: Literal["claimed", "replay", "in_progress", "mismatch"]
    status: int | None = None
    body: dict[str, Any] | None = None


class IdempotencyKeyRepository:
    """The `idempotency_keys` table; each method runs inside the caller's transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _insert(self, scope: str, key: str, fingerprint: str) -> Any:
        now = utcnow()
        values = {
            "scope": scope,
            "key": key,
            "request_hash": fingerprint,
            "state": "in_progress",
            "created_at": now,
            "expires_at": now + KEY_LIFETIME,
        }
        bind = self.session.bind
        dialect = bind.dialect.name if bind is not None else "sqlite"
        module: Any = postgresql if dialect == "postgresql" else sqlite
        return (
            module.insert(IdempotencyKeyRow)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["scope", "key"])
        )

    async def claim(self, scope: str, key: str, fingerprint: str) -> Claim:
        """Take the key for this request, or say why not (see `Claim`).

        Commit the caller's transaction right after a `claimed` outcome, so that concurrent
        requests see the key while this one acts.
        """
        key = _stored_key(key)
        for _ in range(2):
            result: Any = await self.session.execute(self._insert(scope, key, fingerprint))
            if result.rowcount == 1:
                return Claim("claimed")
            row = await self._get(scope, key)
            if row is None:
                continue  # released between our insert and our read: try once more
            if row.expires_at <= utcnow():
                await self.session.execute(
                    sa.delete(IdempotencyKeyRow).where(
                        IdempotencyKeyRow.id == row.id, IdempotencyKeyRow.expires_at <= utcnow()
                    )
                )
                continue
            if row.request_hash != fingerprint:
                return Claim("mismatch")
            if row.state != "done":
                return Claim("in_progress")
            return Claim("replay", status=row.response_status, body=row.response_body)
        return Claim("in_progress")

    async def _get(self, scope: str, key: str) -> IdempotencyKeyRow | None:
        result = await self.session.execute(
            sa.select(IdempotencyKeyRow)
            .where(IdempotencyKeyRow.scope == scope, IdempotencyKeyRow.key == key)
            .execution_options(populate_existing=True)
        )
        return result.scalar_one_or_none()

    async def is_done(self, scope: str, key: str) -> bool:
        """True when a finished, unexpired answer is kept under this key."""
        row = await self._get(scope, _stored_key(key))
        return row is not None and row.state == "done" and row.expires_at > utcnow()

    async def complete(self, scope: str, key: str, status: int, body: dict[str, Any]) -> None:
        """Record the answer a repeat of this request will get."""
        await self.session.execute(
            sa.update(IdempotencyKeyRow)
            .where(IdempotencyKeyRow.scope == scope, IdempotencyKeyRow.key == _stored_key(key))
            .values(state="done", response_status=status, response_body=body)
        )

    async def release(self, scope: str, key: str) -> None:
        """Give the key back: the request started nothing, so a retry may try again."""
        await self.session.execute(
            sa.delete(IdempotencyKeyRow).where(
                IdempotencyKeyRow.scope == scope,
                IdempotencyKeyRow.key == _stored_key(key),
                IdempotencyKeyRow.state == "in_progress",
            )
        )

    async def purge_expired(self) -> int:
        """Delete keys past their lifetime; returns how many went."""
        result: Any = await self.session.execute(
            sa.delete(IdempotencyKeyRow).where(IdempotencyKeyRow.expires_at <= utcnow())
        )
        return int(result.rowcount or 0)
