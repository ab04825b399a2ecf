"""Deletes finished idempotency keys past their 24-hour lifetime, every few minutes."""

from __future__ import annotations

import structlog

from gateway.store.database import Database
from gateway.store.idempotency import purge_expired
from gateway.workers import PeriodicWorker

log = structlog.get_logger(__name__)


class IdempotencyJanitor(PeriodicWorker):
    """A worker: `purge_expired` now and then (expired keys are also replaced on claim)."""

    name = "idempotency-janitor"

    def __init__(self, db: Database, *, every_seconds: float = 600.0) -> None:
        super().__init__(interval=every_seconds)
        self.db = db

    async def purge_once(self) -> int:
        """Delete the expired keys; returns how many went."""
        return await self.db.write(purge_expired)

    async def tick(self) -> None:
        purged = await self.purge_once()
        if purged:
            log.info("idempotency.purged", keys=purged)
