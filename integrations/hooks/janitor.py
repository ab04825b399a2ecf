"""Deletes idempotency keys past their 24-hour lifetime, every few minutes."""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from gateway.store.database import Database
from gateway.store.idempotency import IdempotencyKeyRepository

log = structlog.get_logger(__name__)


class IdempotencyJanitor:
    """A worker: `purge_expired` now and then (expired keys are also replaced on claim)."""

    name = "idempotency-janitor"

    def __init__(self, db: Database, *, every_seconds: float = 600.0) -> None:
        self.db = db
        self.every_seconds = every_seconds
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def purge_once(self) -> int:
        """Delete the expired keys; returns how many went."""
        async with self.db.session() as session:
            return await IdempotencyKeyRepository(session).purge_expired()

    async def _loop(self) -> None:
        while True:
            try:
                purged = await self.purge_once()
                if purged:
                    log.info("idempotency.purged", keys=purged)
            except Exception:
                log.warning("idempotency.purge_failed", exc_info=True)
            await asyncio.sleep(self.every_seconds)
