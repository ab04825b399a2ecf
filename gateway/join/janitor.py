"""LinkJanitor: forgets join credentials once a link expires or its call can't be joined."""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from gateway.join.links import JoinLinks
from gateway.store.database import Database

log = structlog.get_logger(__name__)


class LinkJanitor:
    """A worker that purges expired and finished links every `interval` seconds.

    Safe on replicas: the purge is an idempotent UPDATE of rows that still hold credentials.
    A link is unusable the moment it expires (`JoinLinks.find_live` checks); this only makes
    sure the sealed token does not stay in the store after that.
    """

    name = "join-link-janitor"

    def __init__(self, db: Database, links: JoinLinks, *, interval: float = 30.0) -> None:
        self.db = db
        self.links = links
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    async def sweep(self) -> int:
        """Purge once; returns how many links lost their credentials."""
        async with self.db.session() as session:
            expired = await self.links.purge_expired(session)
            finished = await self.links.purge_finished(session)
        if expired or finished:
            log.info("join.links_purged", expired=expired, finished=finished)
        return expired + finished

    async def start(self) -> None:
        """Start sweeping in the background."""
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        """Stop sweeping (waits for a sweep in progress to be cancelled)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception:
                log.exception("join.purge_failed")
            await asyncio.sleep(self.interval)
