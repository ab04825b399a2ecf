"""CallProgress: what one look at a call upstream means for the call in the store.

Every move of the state machine is written (with its event row) before the gateway acts on
it: the call is marked `expired` before it is stopped upstream, and a finished call's
`CallResult` and its deliveries are written in the transaction that moves it to `analyzed`
or `failed`. Each write re-reads the call under a lock and gives up if another worker
moved it meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.calls.commands import Origin
from gateway.calls.links import JoinLinks
from gateway.calls.machine import CallMachine
from gateway.calls.ports import RecordingUrls, TranscriptSettler
from gateway.calls.queue import ResultQueue
from gateway.calls.result import CallResult
from gateway.calls.states import POLLED, CallState, IllegalTransition
from gateway.oneinbox.models import Call
from gateway.store.call_leases import next_look, reschedule_quiet
from gateway.store.calls import CallRepository
from gateway.store.database import Database
from gateway.store.tables import CallRow, utcnow

log = structlog.get_logger(__name__)

# `next_poll_at` of a call a webhook hinted about: earlier than any real time, so it is
# looked at before every merely overdue call.
HINTED_AT = datetime(2000, 1, 1, tzinfo=UTC)
JOIN_TIMEOUT_REASON = "join_timeout"


@dataclass(frozen=True)
class Timing:
    """How often to look at calls; from the settings."""

    poll_interval: float = 5.0
    join_timeout: float = 600.0
    analysis_wait: float = 60.0

    @property
    def max_interval(self) -> float:
        """The longest a quiet call goes unobserved (before the budget's queueing)."""
        return self.poll_interval * 12

    @property
    def analysis_interval(self) -> float:
        """How often an ended call is re-read while its analysis is being written."""
        return min(self.poll_interval, 2.0)

    def backoff(self, polls: int) -> float:
        """Seconds until the next look at a call that has been looked at `polls` times."""
        return min(self.max_interval, self.poll_interval * (1.5 ** min(polls, 20)))


@dataclass(frozen=True)
class Step:
    """What the tracker must do after a look: stop the call upstream, wake the outbox."""

    stop_upstream: bool = False
    enqueued: bool = False


class CallProgress:
    """Applies what OneInbox says about a call to the store."""

    def __init__(
        self,
        db: Database,
        outbox: ResultQueue,
        links: JoinLinks,
        timing: Timing,
        *,
        recordings: RecordingUrls | None = None,
        transcript: TranscriptSettler | None = None,
    ) -> None:
        self.db = db
        self.outbox = outbox
        self.links = links
        self.timing = timing
        # Results carry the gateway's own recording link, never OneInbox's expiring URL.
        self.recordings = recordings
        self.transcript = transcript

    async def quiet(self, call_id: str, upstream: Call, leased_until: datetime) -> bool:
        """Apply a look that moves nothing (the call still waits for someone, or is still
        live) as one write unit batched with the others; False when the look means more
        (then `apply` it). Most looks are quiet: an ORM session for each held SQLite's write
        lock across several thread hops, and the hooks' writes waited behind it (measured:
        15-20% of the hooks' throughput while calls were followed).
        """
        status = (upstream.status or "").lower()
        if status in ("failed", "completed"):
            return False

        def plan(state: str, polls: int, created_at: datetime) -> float | None:
            if state == CallState.LIVE:
                return self.timing.backoff(polls)
            if state != CallState.STARTED or status == "in_progress":
                return None  # a transition (joined, expired, ...): not quiet
            deadline = created_at + timedelta(seconds=self.timing.join_timeout)
            left = (deadline - utcnow()).total_seconds()
            return None if left <= 0 else min(self.timing.backoff(polls), left)

        return await self.db.write(
            partial(
                reschedule_quiet,
                call_id=call_id,
                upstream_status=upstream.status,
                leased_until=leased_until,
                plan=plan,
                lock=self.db.is_postgres,
            )
        )

    async def apply(self, call_id: str, upstream: Call, leased_until: datetime) -> Step:
        """Move the call as far as the upstream record allows; schedule the next look."""

        async def work(session: AsyncSession) -> Step:
            calls = CallMachine(session)
            row = await calls.get(call_id, for_update=True)
            if row is None or row.state not in POLLED:
                return Step()
            try:
                step, next_in = await self._advance(session, calls, row, upstream)
            except IllegalTransition:
                log.info("call.moved_meanwhile", call_id=call_id)
                return Step()
            self._schedule(row, next_in, leased_until)
            row.upstream_status = upstream.status
            row.last_error = None
            return step

        return await self.db.writing(work)

    async def _advance(
        self, session: AsyncSession, calls: CallMachine, row: CallRow, upstream: Call
    ) -> tuple[Step, float | None]:
        status = (upstream.status or "").lower()
        now = utcnow()
        if status == "failed":
            await self._finish(session, calls, row, upstream, CallState.FAILED)
            return Step(enqueued=True), None
        if status == "completed":
            if row.state != CallState.ENDED:
                ended = upstream.ended_at or now
                await calls.transition(
                    row, CallState.ENDED, detail=_ended_detail(upstream), ended_at=ended
                )
            waited = (now - (row.ended_at or now)).total_seconds()
            if upstream.analysis is None and waited < self.timing.analysis_wait:
                left = self.timing.analysis_wait - waited
                return Step(), min(self.timing.analysis_interval, left)
            await self._finish(session, calls, row, upstream, CallState.ANALYZED)
            return Step(enqueued=True), None
        if status == "in_progress" and row.state == CallState.STARTED:
            started = upstream.started_at or now
            joined = "answered" if row.call_type == "outbound" else "joined"
            await calls.transition(row, CallState.LIVE, detail=joined, live_at=started)
            return Step(), self.timing.backoff(0)
        if row.state == CallState.EXPIRED:
            return Step(stop_upstream=True), self.timing.analysis_interval
        if row.state == CallState.STARTED:
            deadline = row.created_at + timedelta(seconds=self.timing.join_timeout)
            if now >= deadline:
                nobody = "answered" if row.call_type == "outbound" else "joined"
                await calls.transition(
                    row,
                    CallState.EXPIRED,
                    detail=f"nobody {nobody} within {self.timing.join_timeout:g} s; stopping it",
                )
                await self.links.purge_for_call(session, row.id)
                return Step(stop_upstream=True), self.timing.analysis_interval
            next_in = self.timing.backoff(row.poll_count)
            return Step(), min(next_in, max(0.0, (deadline - now).total_seconds()))
        return Step(), self.timing.backoff(row.poll_count)

    async def _finish(
        self,
        session: AsyncSession,
        calls: CallMachine,
        row: CallRow,
        upstream: Call,
        to_state: CallState,
    ) -> None:
        """Build the result once, store it, move the call, queue its deliveries."""
        result = await self._result(session, row, upstream)
        if to_state == CallState.FAILED and row.state == CallState.EXPIRED:
            to_state = CallState.ANALYZED  # an expired call cannot fail; its result says failed
        detail = "analysis in" if upstream.analysis is not None else "delivered without analysis"
        if upstream.analysis is None and to_state == CallState.ANALYZED:
            detail += f" (none after {self.timing.analysis_wait:g} s)"
        await calls.transition(
            row,
            to_state,
            detail=detail if to_state == CallState.ANALYZED else _ended_detail(upstream),
            result=result.model_dump(mode="json"),
            ended_at=row.ended_at or result.ended_at,
            next_poll_at=None,
            lease_owner=None,
            lease_expires_at=None,
        )
        await self.links.purge_for_call(session, row.id)
        if self.transcript is not None:
            await self.transcript.settle(session, row, result.messages)
        await self.outbox.enqueue_for(session, row, result)
        log.info(
            "call.finished",
            call_id=row.id,
            state=str(to_state),
            outcome=result.outcome,
            analysis_missing=result.analysis_missing,
        )

    async def _result(self, session: AsyncSession, row: CallRow, upstream: Call) -> CallResult:
        origin = Origin(
            kind=row.origin_kind, name=row.origin_name, context=row.origin_context or {}
        )
        result = CallResult.from_call(
            upstream,
            origin=origin,
            agent_name=row.agent_name,
            call_type=row.call_type,
            to_number=row.to_number,
        )
        update: dict[str, object] = {}
        if result.ended_at is None:
            update["ended_at"] = row.ended_at or utcnow()
        if not result.agent_id:
            update["agent_id"] = row.agent_id
        if await self._was_expired(session, row):
            update["end_reason"] = JOIN_TIMEOUT_REASON
        if result.recording_url and self.recordings is not None:
            update["recording_url"] = self.recordings.url_for(row.id)
        return result.model_copy(update=update) if update else result

    async def _was_expired(self, session: AsyncSession, row: CallRow) -> bool:
        if row.state == CallState.EXPIRED:
            return True
        return await CallRepository(session).ever_in(row.id, str(CallState.EXPIRED))

    def _schedule(self, row: CallRow, next_in: float | None, leased_until: datetime) -> None:
        """Set the next look, keeping an earlier one a webhook hint asked for meanwhile."""
        row.poll_count += 1
        row.lease_owner = None
        row.lease_expires_at = None
        if next_in is None or row.state not in POLLED:
            row.next_poll_at = None
            return
        planned = utcnow() + timedelta(seconds=next_in)
        row.next_poll_at = next_look(row.next_poll_at, leased_until, planned)

    async def lost(self, call_id: str) -> None:
        """OneInbox answers 404: the call is `lost` (no result can be built)."""

        async def work(session: AsyncSession) -> bool:
            calls = CallMachine(session)
            row = await calls.get(call_id, for_update=True)
            if row is None or row.state not in POLLED:
                return False
            try:
                await calls.transition(
                    row,
                    CallState.LOST,
                    detail="OneInbox no longer knows this call (404)",
                    next_poll_at=None,
                    lease_owner=None,
                    lease_expires_at=None,
                )
            except IllegalTransition:
                row.next_poll_at = None  # expired calls cannot be lost: stop looking
                row.last_error = "OneInbox no longer knows this call (404)"
            await self.links.purge_for_call(session, call_id)
            return True

        if await self.db.writing(work):
            log.warning("call.lost", call_id=call_id)

    async def retry_later(
        self, call_id: str, leased_until: datetime, delay: float, error: str
    ) -> None:
        """The look failed (upstream error): try again after `delay` seconds."""

        async def work(session: AsyncSession) -> None:
            row = await CallMachine(session).get(call_id, for_update=True)
            if row is None or row.state not in POLLED:
                return
            self._schedule(row, delay, leased_until)
            row.last_error = error

        await self.db.writing(work)


def _ended_detail(upstream: Call) -> str:
    reason = upstream.end_reason or "unknown reason"
    return f"upstream {upstream.status or '?'} ({reason})"
