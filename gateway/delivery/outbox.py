"""The outbox: queued deliveries of call results, claimed with leases and tried on a schedule.

Rows are written in the transaction that finishes a call (`enqueue_for`), so a result is
never lost between "the call is over" and "someone was told". Workers (a `LeasedLoop`,
gateway/workers.py) claim due rows with a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so
replicas share the work without ever holding the same row; on SQLite one process owns the
outbox). A row is tried at least once per claim and keeps its id across tries, which
destinations use to stay effectively-once.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.calls.commands import DestinationSpec
from gateway.calls.machine import CallMachine
from gateway.calls.result import CallResult
from gateway.calls.states import CallState, IllegalTransition
from gateway.delivery.health import DisableAlerts, EndpointHealth, Noted
from gateway.delivery.redact import redact_result
from gateway.delivery.registry import DeliveryAttempt, DeliveryOutcome, DestinationRegistry
from gateway.delivery.schedule import RetrySchedule
from gateway.store.calls import CallRepository
from gateway.store.database import Database
from gateway.store.deliveries import ClaimedDelivery, DeliveryRepository, DeliveryState
from gateway.store.endpoints import EndpointRepository
from gateway.store.tables import CallRow, DeliveryRow, utcnow
from gateway.workers import LeasedLoop

# A delivery's config key: result fields added after the delivery was queued (a recording
# that became available later), which its tries leave out so that every try of it, retries
# and replays included, carries the same body.
LATE_FIELDS = "late_fields"

log = structlog.get_logger(__name__)

LOG_DESTINATION = DestinationSpec(kind="log", key="log")
# Longer than any one try (a callback times out after 15 s) so a live worker keeps its rows.
LEASE = timedelta(seconds=60)
# A try that takes longer than this is abandoned (and the next one is marked uncertain).
ATTEMPT_TIMEOUT_SECONDS = 30.0
# How long a delivery whose destination kind is not registered waits before looking again.
UNREGISTERED_RECHECK = timedelta(seconds=60)
# How long tries in flight may finish when the outbox stops (the rest are given back uncertain).
SHUTDOWN_GRACE_SECONDS = 10.0

# Told of every try: (destination kind, what became of the delivery, seconds it took).
AttemptObserver = Callable[[str, str, float], None]


def disable_after(seconds: float) -> timedelta | None:
    """`DESTINATION_DISABLE_AFTER_SECONDS` as the outbox's option (0: never disable)."""
    return timedelta(seconds=seconds) if seconds > 0 else None


@dataclass(frozen=True)
class OutboxOptions:
    concurrency: int = 32
    idle_seconds: float = 0.5
    schedule_scale: float = 1.0
    # Disable an endpoint failing this long without a success (None: never).
    disable_after: timedelta | None = timedelta(days=5)
    # How national phone numbers in results are read when a destination redacts "phone".
    phone_region: str | None = None


class Outbox:
    """Queue deliveries for finished calls and run them; a `Worker` the app starts."""

    name = "outbox"

    def __init__(
        self,
        db: Database,
        destinations: DestinationRegistry,
        *,
        identity: str,
        options: OutboxOptions | None = None,
    ) -> None:
        self.db = db
        self.destinations = destinations
        self.identity = identity
        self.options = options or OutboxOptions()
        self.schedule = RetrySchedule(scale=self.options.schedule_scale)
        self.health = EndpointHealth(self.options.disable_after)
        self.alerts = DisableAlerts()
        self.attempt_observers: list[AttemptObserver] = []
        self.loop = LeasedLoop(
            self.name,
            claim=self.claim_due,
            handle=self.run_one,
            label=lambda item: item.row.id,
            concurrency=self.options.concurrency,
            idle_seconds=self.options.idle_seconds,
            grace=SHUTDOWN_GRACE_SECONDS,
        )

    # Queueing (inside the caller's transaction)

    async def enqueue_for(
        self, session: AsyncSession, call: CallRow, result: CallResult
    ) -> list[DeliveryRow]:
        """One delivery per (call, destination) of `call`, due now, in the caller's transaction.

        The caller moves the call to `analyzed`/`failed` and stores `result` in the same
        transaction. A call with no destination gets the `log` destination, so its result
        shows up in the console at least. A delivery to a disabled endpoint is queued `held`.
        """
        specs = [DestinationSpec.model_validate(d) for d in call.destinations or []]
        if not specs:
            specs = [LOG_DESTINATION]
        repo = DeliveryRepository(session)
        endpoints = EndpointRepository(session)
        now = utcnow()
        rows: list[DeliveryRow] = []
        seen: set[str] = set()
        for spec in specs:
            if spec.key in seen:
                continue
            seen.add(spec.key)
            config = dict(spec.config)
            await endpoints.ensure(spec.kind, spec.key, config, now=now)
            held = await endpoints.disabled_at(spec.kind, spec.key) is not None
            rows.append(await repo.add(call.id, spec.kind, spec.key, config, now=now, held=held))
        log.info("outbox.enqueued", call_id=call.id, deliveries=len(rows), type=result.event_type)
        return rows

    def wake(self) -> None:
        """Look for due deliveries now (e.g. right after the tracker queued some)."""
        self.loop.wake()

    # Worker

    async def start(self) -> None:
        """Start claiming; on SQLite first take back the leases a dead process left."""
        if not self.db.is_postgres:
            async with self.db.session() as session:
                released = await DeliveryRepository(session).expire_all_leases()
            if released:
                log.info("outbox.leases_recovered", count=released)
        await self.loop.start()

    async def stop(self) -> None:
        """Stop claiming, let tries in flight finish for up to 10 s, then give leases back."""
        unfinished = [item.row.id for item in await self.loop.stop()]
        if unfinished:
            async with self.db.session() as session:
                await DeliveryRepository(session).release_leases(
                    self.identity, unfinished, uncertain=True
                )
            log.warning("outbox.stopped_with_unfinished", count=len(unfinished))

    async def claim_due(self, limit: int) -> list[ClaimedDelivery]:
        """Lease up to `limit` due deliveries for this worker."""
        return await self.db.writing(
            lambda session: DeliveryRepository(session).claim_due(
                self.identity, limit=limit, lease=LEASE, skip_locked=self.db.is_postgres
            )
        )

    # One try

    async def run_one(self, item: ClaimedDelivery) -> None:
        """Try one claimed delivery and record how it went."""
        row = item.row

        async def read(session: AsyncSession) -> tuple[dict[str, Any] | None, DeliveryRow | None]:
            call = await CallRepository(session).get(row.call_id)
            # The config as of now, read after the result: a recording that landed since the
            # claim added its link to the result and named it late here in one transaction,
            # so the result and the config read together agree (every try, one body).
            current = await DeliveryRepository(session).get(row.id)
            return (call.result if call is not None else None), current

        stored, current = await self.db.reading(read)
        config = dict((current if current is not None else row).config or {})
        if stored is None:
            await self._record(
                row,
                DeliveryOutcome(ok=False, error="the call has no stored result", permanent=True),
                0.0,
            )
            return
        result = CallResult.model_validate(stored)
        late = config.get(LATE_FIELDS) or []
        if late:
            result = result.model_copy(update=dict.fromkeys(late))
        redact = config.get("redact") or []
        if redact:  # this destination sees masked personal data; the stored result stays whole
            result = redact_result(result, redact, region=self.options.phone_region)
        destination = self.destinations.get(row.destination)
        if destination is None:
            await self._wait_for_destination(row)
            return
        attempt = DeliveryAttempt(
            delivery_id=row.id,
            call_id=row.call_id,
            destination_key=row.destination_key,
            config=config,
            attempt=row.attempts + 1,
            uncertain=item.uncertain,
        )
        started = time.monotonic()
        try:
            outcome = await asyncio.wait_for(
                destination.deliver(attempt, result), timeout=ATTEMPT_TIMEOUT_SECONDS
            )
        except TimeoutError:
            outcome = DeliveryOutcome(
                ok=False, error=f"no answer within {ATTEMPT_TIMEOUT_SECONDS:g} s"
            )
        except Exception as exc:  # a destination bug must not kill the worker
            log.exception("outbox.destination_crashed", delivery_id=row.id)
            outcome = DeliveryOutcome(
                ok=False, error=f"{row.destination} failed: {type(exc).__name__}"
            )
        await self._record(row, outcome, time.monotonic() - started)

    async def _wait_for_destination(self, row: DeliveryRow) -> None:
        error = (
            f"no destination named {row.destination!r} is registered "
            "(is its integration configured?); waiting"
        )
        async with self.db.session() as session:
            fresh = await DeliveryRepository(session).get(row.id, for_update=True)
            if fresh is None or fresh.lease_owner != self.identity:
                return
            fresh.last_error = error
            fresh.next_attempt_at = utcnow() + UNREGISTERED_RECHECK
            fresh.lease_owner = None
            fresh.lease_expires_at = None
        log.warning("outbox.destination_missing", delivery_id=row.id, destination=row.destination)

    async def _record(self, row: DeliveryRow, outcome: DeliveryOutcome, seconds: float) -> None:
        now = utcnow()
        recorded = await self.db.writing(
            lambda session: self._write_outcome(session, row, outcome, seconds, now)
        )
        if recorded is None:
            return
        state, attempts, noted = recorded
        self._log_outcome(row, state, attempts, outcome)
        for observe in self.attempt_observers:
            observe(row.destination, str(state), seconds)
        if noted.newly_disabled is not None:
            await self.alerts.publish(noted.newly_disabled)

    async def _write_outcome(
        self,
        session: AsyncSession,
        row: DeliveryRow,
        outcome: DeliveryOutcome,
        seconds: float,
        now: datetime,
    ) -> tuple[DeliveryState, int, Noted] | None:
        """Store the try and what became of the delivery (None: no longer this worker's)."""
        await DeliveryRepository(session).add_attempt(
            row.id,
            at=now,
            status_code=outcome.status_code,
            error=outcome.error,
            duration_ms=round(seconds * 1000),
            worker=self.identity,
            signed_by=list(outcome.signed_by) or None,
        )
        # Lock the call, then the endpoint, then the delivery: the order of every writer.
        await CallMachine(session).get(row.call_id, for_update=True)
        noted = await self.health.note(session, row, ok=outcome.ok, error=outcome.error, now=now)
        fresh = await DeliveryRepository(session).get(row.id, for_update=True)
        if fresh is None:
            return None
        if fresh.lease_owner != self.identity and not outcome.ok:
            log.warning("outbox.lease_lost", delivery_id=row.id)
            return None
        attempts = fresh.attempts + 1
        state = self._next_state(outcome, attempts)
        if state is DeliveryState.PENDING and noted.disabled:
            state = DeliveryState.HELD
        fresh.attempts = attempts
        fresh.state = str(state)
        fresh.last_status = outcome.status_code
        fresh.last_error = outcome.error
        fresh.lease_owner = None
        fresh.lease_expires_at = None
        if state is DeliveryState.PENDING:
            fresh.next_attempt_at = self.schedule.next_attempt_at(
                now, attempts, outcome.retry_after
            )
        else:
            fresh.next_attempt_at = None
            if state is DeliveryState.DELIVERED:
                fresh.delivered_at = now
            await self._maybe_finish_call(session, fresh.call_id)
        return state, attempts, noted

    def _next_state(self, outcome: DeliveryOutcome, attempts: int) -> DeliveryState:
        if outcome.ok:
            return DeliveryState.DELIVERED
        if outcome.gone:
            return DeliveryState.DISABLED
        if outcome.permanent or self.schedule.exhausted(attempts):
            return DeliveryState.DEAD
        return DeliveryState.PENDING

    async def _maybe_finish_call(self, session: AsyncSession, call_id: str) -> None:
        """Move the call to `delivered` once none of its deliveries is pending.

        The call row is locked first, so two replicas finishing the last two deliveries of
        a call at once see each other's writes.
        """
        calls = CallMachine(session)
        call = await calls.get(call_id, for_update=True)
        if call is None or call.state not in (CallState.ANALYZED, CallState.FAILED):
            return
        if await DeliveryRepository(session).unfinished_count(call_id) > 0:
            return
        with contextlib.suppress(IllegalTransition):
            await calls.transition(call, CallState.DELIVERED, detail="every destination is done")

    def _log_outcome(
        self, row: DeliveryRow, state: DeliveryState, attempts: int, outcome: DeliveryOutcome
    ) -> None:
        fields: dict[str, Any] = {
            "delivery_id": row.id,
            "call_id": row.call_id,
            "destination": row.destination,
            "attempt": attempts,
            "state": str(state),
        }
        if outcome.status_code is not None:
            fields["status"] = outcome.status_code
        if outcome.ok:
            log.info("delivery.delivered", **fields)
        else:
            log.warning("delivery.failed", error=outcome.error, **fields)
