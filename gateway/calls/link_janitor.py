"""LinkJanitor: forgets join credentials once a link expires or its call can't be joined."""

from __future__ import annotations

import structlog

from gateway.calls.links import JoinLinks
from gateway.store.database import Database
from gateway.workers import PeriodicWorker

log = structlog.get_logger(__name__)


class LinkJanitor(PeriodicWorker):
    """A worker that purges expired and finished links every `interval` seconds.

    Safe on replicas: the purge is an idempotent UPDATE of rows that still hold credentials.
    A link is unusable the moment it expires (`JoinLinks.find_live` checks); this only makes
    sure the sealed token does not stay in the store after that.
    """

    name = "join-link-janitor"

    def __init__(self, db: Database, links: JoinLinks, *, interval: float = 30.0) -> None:
        super().__init__(interval=interval)
        self.db = db
        self.links = links

    async def sweep(self) -> int:
        """Purge once; returns how many links lost their credentials."""
        async with self.db.session() as session:
            expired = await self.links.purge_expired(session)
            finished = await self.links.purge_finished(session)
        if expired or finished:
            log.info("join.links_purged", expired=expired, finished=finished)
        return expired + finished

    async def tick(self) -> None:
        await self.sweep()
