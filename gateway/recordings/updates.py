"""`call.recording.available`: put the recording link on a result that went out without it.

OneInbox may finish a recording after the call's result was built. When it says a recording
is there, the gateway re-reads the call (the event is only a hint), stores its own link in
the result, and sends the result again to the destinations that update what they showed in
place (the Slack result message, a CRM record): they declare `updates_in_place = True`.
Callbacks are not sent again: their receivers deduplicate on the delivery id, and every try
of a delivery (a retry, a replay) carries the same body, so the callback deliveries that
already exist are told to leave the late link out (`late_fields` in their config).
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

import structlog

from gateway.delivery.outbox import LATE_FIELDS
from gateway.delivery.registry import DestinationRegistry
from gateway.oneinbox.client import OneInboxClient
from gateway.oneinbox.errors import OneInboxError
from gateway.recordings.links import RecordingLinks
from gateway.store.calls import CallRepository
from gateway.store.database import Database
from gateway.store.deliveries import DeliveryRepository, DeliveryState
from gateway.store.tables import utcnow

log = structlog.get_logger(__name__)

RECORDING_EVENT = "call.recording.available"


class RecordingUpdate(StrEnum):
    UPDATED = "updated"  # the stored result has the link now; destinations are re-queued
    NOT_YET = "not_yet"  # no result yet: the result will carry the link when it is built
    UNCHANGED = "unchanged"  # the result already had a link, or upstream has no recording
    UNKNOWN = "unknown"  # not a call of this gateway


class RecordingUpdates:
    """Applies `call.recording.available` to a stored result and its deliveries."""

    def __init__(
        self,
        db: Database,
        client: OneInboxClient,
        links: RecordingLinks,
        destinations: DestinationRegistry,
        *,
        wake_outbox: Callable[[], None],
    ) -> None:
        self.db = db
        self.client = client
        self.links = links
        self.destinations = destinations
        self.wake_outbox = wake_outbox

    async def available(self, call_id: str) -> RecordingUpdate:
        """Re-read the call; if it has a recording the stored result lacks, add the link."""
        async with self.db.session() as session:
            row = await CallRepository(session).get(call_id)
            if row is None:
                return RecordingUpdate.UNKNOWN
            if row.result is None:
                return RecordingUpdate.NOT_YET
            if row.result.get("recording_url"):
                return RecordingUpdate.UNCHANGED
        try:
            upstream = await self.client.get_call(call_id)
        except OneInboxError as exc:
            log.warning("recording.reread_failed", call_id=call_id, error=str(exc))
            return RecordingUpdate.UNCHANGED
        if not upstream.recording_url:
            return RecordingUpdate.UNCHANGED
        requeued = await self._store(call_id)
        if requeued is None:
            return RecordingUpdate.UNCHANGED
        if requeued:
            self.wake_outbox()
        log.info("recording.added_to_result", call_id=call_id, redelivered=requeued)
        return RecordingUpdate.UPDATED

    async def _store(self, call_id: str) -> int | None:
        async with self.db.session() as session:
            row = await CallRepository(session).get(call_id, for_update=True)
            if row is None or row.result is None or row.result.get("recording_url"):
                return None
            row.result = {**row.result, "recording_url": self.links.url_for(call_id)}
            requeued = 0
            for delivery in await DeliveryRepository(session).for_call(call_id):
                destination = self.destinations.get(delivery.destination)
                if not getattr(destination, "updates_in_place", False):
                    # Its retries and replays must carry the body its first try had.
                    late = [*(delivery.config or {}).get(LATE_FIELDS, []), "recording_url"]
                    delivery.config = {**(delivery.config or {}), LATE_FIELDS: late}
                    continue
                if delivery.state != str(DeliveryState.DELIVERED):
                    continue
                delivery.state = str(DeliveryState.PENDING)
                delivery.next_attempt_at = utcnow()
                delivery.delivered_at = None
                delivery.last_error = "sent again: the recording became available"
                requeued += 1
        return requeued
