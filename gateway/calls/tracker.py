"""CallTracker: follows every call to its end by polling OneInbox within a budget.

One loop per process (a `LeasedLoop`, gateway/workers.py), not one coroutine per call: it
claims the calls that are due from the store in batches (a lease in `next_poll_at` itself:
a claimed call is not due again until the lease runs out, so a crashed worker's calls come
back by themselves; on PostgreSQL the batch is chosen with `FOR UPDATE SKIP LOCKED`, so
replicas split the work). Each look costs a token of the `UpstreamBudget`
(`POLL_BUDGET_PER_SECOND`), so however many calls are tracked, OneInbox sees a steady,
bounded rate. Webhook hints move a call to the front.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from functools import partial

import structlog

from gateway.calls.budget import UpstreamBudget
from gateway.calls.progress import HINTED_AT, CallProgress, Step
from gateway.calls.queue import ResultQueue
from gateway.calls.states import POLLED, UNPOLLED
from gateway.oneinbox.client import OneInboxClient
from gateway.oneinbox.errors import NotFoundError, OneInboxError, RateLimitedError
from gateway.store.call_leases import CallLeaseRepository, claim_due_calls
from gateway.store.database import Database
from gateway.store.tables import utcnow
from gateway.workers import LeasedLoop

log = structlog.get_logger(__name__)

LEASE = timedelta(seconds=60)
MAX_PAUSE = 60.0
# How long looks in flight may finish when the tracker stops (the rest are looked at again).
STOP_GRACE_SECONDS = 5.0


class CallTracker:
    """A `Worker`: claims due calls, reads them upstream, hands the answer to `CallProgress`."""

    name = "call-tracker"

    def __init__(
        self,
        db: Database,
        client: OneInboxClient,
        progress: CallProgress,
        outbox: ResultQueue,
        *,
        identity: str,
        budget: UpstreamBudget,
        idle_seconds: float = 1.0,
    ) -> None:
        self.db = db
        self.client = client
        self.progress = progress
        self.outbox = outbox
        self.identity = identity
        self.budget = budget
        self.loop = LeasedLoop(
            self.name,
            claim=self.claim_due,
            handle=self._look_at,
            label=lambda claimed: claimed[0],
            # About a second of work in hand: enough to keep the budget busy, little enough
            # that a hinted call never queues behind many ordinary ones.
            concurrency=max(4, math.ceil(budget.rate)),
            idle_seconds=idle_seconds,
            grace=STOP_GRACE_SECONDS,
        )

    async def start(self) -> None:
        """Start the loop; on SQLite first take back calls a dead process had claimed."""
        if not self.db.is_postgres:
            async with self.db.session() as session:
                await CallLeaseRepository(session, POLLED).release()
        await self.loop.start()

    async def stop(self) -> None:
        """Stop claiming; looks in flight get a moment, the rest come back after restart."""
        await self.loop.stop()
        async with self.db.session() as session:
            await CallLeaseRepository(session, POLLED).release(self.identity)

    def wake(self) -> None:
        """Look for due calls now (a webhook hint arrived)."""
        self.loop.wake()

    async def hint(self, call_id: str) -> bool:
        """Make a call due before all others; False when it is unknown or no longer tracked."""
        found = await self.db.writing(
            lambda session: CallLeaseRepository(session, POLLED).move_up(call_id, HINTED_AT)
        )
        if found:
            self.wake()
        return found

    async def claim_due(self, limit: int) -> list[tuple[str, datetime]]:
        """Lease up to `limit` due calls (hinted ones first); (call id, lease end) pairs."""
        leased_until = utcnow() + LEASE
        ids = await self.db.write(
            partial(
                claim_due_calls,
                unfollowed=UNPOLLED,
                owner=self.identity,
                limit=limit,
                until=leased_until,
                skip_locked=self.db.is_postgres,
            )
        )
        return [(call_id, leased_until) for call_id in ids]

    async def _look_at(self, claimed: tuple[str, datetime]) -> None:
        await self.look(*claimed)

    async def look(self, call_id: str, leased_until: datetime) -> None:
        """Read one call upstream (one budget token) and apply what it says."""
        await self.budget.take()
        try:
            upstream = await self.client.get_call(call_id)
        except NotFoundError:
            await self.progress.lost(call_id)
            return
        except RateLimitedError as exc:
            # Honour Retry-After, but a bogus hour-long one must not stop all tracking.
            wait = min(exc.retry_after if exc.retry_after is not None else 1.0, MAX_PAUSE)
            self.budget.pause(wait)
            delay = max(wait, self.progress.timing.poll_interval)
            await self.progress.retry_later(call_id, leased_until, delay, "OneInbox rate limited")
            return
        except OneInboxError as exc:
            log.warning("tracker.look_failed", call_id=call_id, error=str(exc))
            delay = self.progress.timing.poll_interval
            await self.progress.retry_later(call_id, leased_until, delay, str(exc)[:500])
            return
        if await self.progress.quiet(call_id, upstream, leased_until):
            return
        step = await self.progress.apply(call_id, upstream, leased_until)
        await self._act(call_id, step)

    async def _act(self, call_id: str, step: Step) -> None:
        if step.enqueued:
            self.outbox.wake()
        if step.stop_upstream:
            await self.budget.take()
            try:
                await self.client.stop_call(call_id)
                log.info("call.expired_stopped", call_id=call_id)
            except OneInboxError as exc:
                # The next look stops it again.
                log.warning("call.stop_failed", call_id=call_id, error=str(exc))
