"""Replay: an operator brings a failed, dead or disabled delivery back, due now.

Shared by `oneinbox-gateway deliveries replay ID` and `POST /api/deliveries/{id}/replay`.
"""

from __future__ import annotations

import structlog

from gateway.store.database import Database
from gateway.store.deliveries import REPLAYABLE_STATES, DeliveryRepository, DeliveryState
from gateway.store.tables import DeliveryRow, utcnow

log = structlog.get_logger(__name__)


class UnknownDeliveryError(Exception):
    """No delivery has that id."""

    def __init__(self, delivery_id: str) -> None:
        super().__init__(f"unknown delivery {delivery_id!r}")
        self.delivery_id = delivery_id


class NotReplayableError(Exception):
    """The delivery already succeeded (replaying it would send the result again), or it is
    held until its destination is enabled."""

    def __init__(self, delivery_id: str, state: str) -> None:
        why = (
            "its destination is disabled: enable the destination to send it"
            if state == DeliveryState.HELD
            else "only failed ones can be replayed"
        )
        super().__init__(f"delivery {delivery_id} is {state}; {why}")
        self.delivery_id = delivery_id
        self.state = state


async def replay_delivery(db: Database, delivery_id: str, *, by: str = "operator") -> DeliveryRow:
    """Set a pending, dead or disabled delivery back to pending with a fresh schedule.

    The id stays the same (receivers keep deduplicating on it); past tries stay in the
    history. Raises `UnknownDeliveryError` or `NotReplayableError`.
    """
    async with db.session() as session:
        row = await DeliveryRepository(session).get(delivery_id, for_update=True)
        if row is None:
            raise UnknownDeliveryError(delivery_id)
        if row.state not in REPLAYABLE_STATES:
            raise NotReplayableError(delivery_id, row.state)
        previous = row.state
        row.state = str(DeliveryState.PENDING)
        row.attempts = 0
        row.next_attempt_at = utcnow()
        row.delivered_at = None
        row.last_error = f"replayed by {by} (was {previous}); last error: {row.last_error or '-'}"
        if row.lease_expires_at is not None and row.lease_expires_at <= utcnow():
            row.lease_expires_at = None
    log.info("delivery.replayed", delivery_id=delivery_id, previous=previous, by=by)
    return row
