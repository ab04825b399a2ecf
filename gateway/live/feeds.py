"""LiveFeeder: shows a call's transcript turns on its live destinations, from the store.

A destination that can show a call live (the Slack thread) implements `LiveDestination`.
The feeder is a worker on every replica: it leases due feeds from the store (one worker per
feed at a time, `FOR UPDATE SKIP LOCKED` on PostgreSQL), hands the destination the stored
turns and what it showed before, and writes back what it shows now. Syncs of one feed are
spaced by `interval` seconds, so a burst of partials becomes one edit (coalescing); a
destination's `Retry-After` moves the next sync; nothing is lost, because a feed stays due
until a sync has shown every change it started from.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any, Protocol, runtime_checkable

import structlog

from gateway.calls.states import TERMINAL
from gateway.delivery.redact import PersonalDataMask
from gateway.delivery.registry import DestinationRegistry
from gateway.store.database import Database
from gateway.store.tables import utcnow
from gateway.store.transcripts import ClaimedFeed, LiveFeedRepository, call_and_turns

log = structlog.get_logger(__name__)

LEASE = timedelta(seconds=30)
ERROR_DELAY = 5.0
MAX_RETRY_AFTER = 120.0


@dataclass(frozen=True)
class LiveTurn:
    """One turn as stored: `version` grows with every change of its text."""

    turn: int
    role: str | None
    text: str
    final: bool
    version: int


@dataclass(frozen=True)
class LiveFeed:
    """What a destination is handed for one sync."""

    call_id: str
    key: str
    config: dict[str, Any]  # the destination's current config on the call (e.g. thread_ts)
    turns: list[LiveTurn]
    shown: dict[str, Any]  # the destination's memory from its last sync
    uncertain: bool  # a worker died mid-sync: the destination may have shown more than `shown`
    call_over: bool


@dataclass(frozen=True)
class LiveSync:
    """How a sync went. `complete`: every turn is shown at its latest version."""

    shown: dict[str, Any] = field(default_factory=dict)
    complete: bool = False
    retry_after: float | None = None
    error: str | None = None
    permanent: bool = False  # no point trying again (e.g. the channel is gone)


@runtime_checkable
class LiveDestination(Protocol):
    """A destination that can show a running call's transcript."""

    name: str

    async def show_live(self, feed: LiveFeed) -> LiveSync:
        """Show what changed since `feed.shown`; must stay within the destination's limits."""
        ...


class LiveFeeder:
    """A `Worker`: syncs due live feeds, at most once per `interval` seconds each."""

    name = "live-feeder"

    def __init__(
        self,
        db: Database,
        destinations: DestinationRegistry,
        *,
        identity: str,
        interval: float = 1.0,
        idle_seconds: float = 0.5,
        batch: int = 20,
        phone_region: str | None = None,
    ) -> None:
        self.db = db
        self.phone_region = phone_region  # reads national numbers for `redact`
        self.destinations = destinations
        self.identity = identity
        self.interval = interval
        self.idle_seconds = idle_seconds
        self.batch = batch
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """Look for due feeds now (a transcript changed on this replica)."""
        self._wake.set()

    async def start(self) -> None:
        """Start the loop."""
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        """Stop the loop; a feed leased meanwhile comes back when its lease runs out."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:
                log.exception("live.tick_failed")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.idle_seconds)

    async def tick(self) -> int:
        """Sync every feed that is due now; returns how many were synced."""
        claimed = await self.db.writing(
            lambda session: LiveFeedRepository(session).claim_due(
                owner=self.identity, limit=self.batch, lease=LEASE, postgres=self.db.is_postgres
            )
        )
        if claimed:
            await asyncio.gather(*(self.sync(feed) for feed in claimed))
        return len(claimed)

    async def sync(self, claimed: ClaimedFeed) -> None:
        """Show one leased feed on its destination and record the outcome."""
        destination = self.destinations.get(claimed.destination)
        if not isinstance(destination, LiveDestination):
            outcome = LiveSync(
                shown=claimed.shown,
                error=f"{claimed.destination} cannot show calls live",
                permanent=True,
            )
        else:
            feed = await self._feed(claimed)
            try:
                outcome = await destination.show_live(feed)
            except Exception as exc:
                log.exception("live.sync_crashed", call_id=claimed.call_id)
                outcome = LiveSync(shown=claimed.shown, error=type(exc).__name__)
        await self._record(claimed, outcome)

    async def _feed(self, claimed: ClaimedFeed) -> LiveFeed:
        call_id = claimed.call_id
        call, rows = await self.db.reading(lambda session: call_and_turns(session, call_id))
        config: dict[str, Any] = {}
        for item in (call.destinations if call is not None else None) or []:
            if isinstance(item, dict) and item.get("key") == claimed.destination_key:
                config = dict(item.get("config") or {})
        turns = [LiveTurn(r.turn, r.role, r.text, r.final, r.version) for r in rows]
        if config.get("redact"):  # the destination sees personal data masked, as in results
            mask = PersonalDataMask(config["redact"], region=self.phone_region)
            turns = [replace(t, text=mask.text(t.text, partial=not t.final)) for t in turns]
        return LiveFeed(
            call_id=claimed.call_id,
            key=claimed.destination_key,
            config=config,
            turns=turns,
            shown=claimed.shown,
            uncertain=claimed.uncertain,
            call_over=call is None or call.state in {str(s) for s in TERMINAL},
        )

    async def _record(self, claimed: ClaimedFeed, outcome: LiveSync) -> None:
        now = utcnow()
        synced: int | None = None
        if outcome.retry_after is not None:
            delay = min(max(outcome.retry_after, self.interval), MAX_RETRY_AFTER)
        elif outcome.error is not None and not outcome.permanent:
            delay = ERROR_DELAY
        else:
            delay = self.interval
            if outcome.complete or outcome.permanent:
                synced = claimed.wanted
        kept = await self.db.writing(
            lambda session: LiveFeedRepository(session).finish(
                claimed,
                owner=self.identity,
                shown=outcome.shown,
                synced=synced,
                next_attempt_at=now + timedelta(seconds=delay),
                error=outcome.error,
            )
        )
        if not kept:
            log.warning("live.lease_lost", call_id=claimed.call_id)
        if outcome.error is not None:
            log.warning(
                "live.sync_failed",
                call_id=claimed.call_id,
                destination=claimed.destination,
                error=outcome.error,
                retry_after=outcome.retry_after,
            )
