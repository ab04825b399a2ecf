"""Every try of a delivery carries the same body, even when a recording arrives between the
claim of a try and the try itself (the result then has a link the first try did not)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from gateway.calls.result import CallResult
from gateway.delivery.outbox import Outbox
from gateway.delivery.registry import DeliveryAttempt, DeliveryOutcome, DestinationRegistry
from gateway.oneinbox.client import OneInboxClient
from gateway.recordings.links import RecordingLinks
from gateway.recordings.updates import RecordingUpdates
from gateway.store.calls import CallRepository
from gateway.store.database import Database
from gateway.store.tables import DeliveryRow, utcnow
from tests.delivery.seed import analyzed_call


class Recorder:
    """A destination that keeps each body it is handed and asks to be tried again."""

    name = "recorder"

    def __init__(self) -> None:
        self.bodies: list[dict[str, object]] = []

    async def deliver(self, attempt: DeliveryAttempt, result: CallResult) -> DeliveryOutcome:
        self.bodies.append(result.model_dump(mode="json"))
        return DeliveryOutcome(ok=False, status_code=503, error="try again later")


async def test_a_recording_that_lands_after_a_claim_stays_out_of_that_try(db: Database) -> None:
    recorder = Recorder()
    registry = DestinationRegistry()
    registry.register(recorder)
    outbox = Outbox(db, registry, identity="worker")
    call_id = "call_late_1"
    await analyzed_call(db, outbox, call_id, [{"kind": "recorder", "key": "r", "config": {}}])

    [first] = await outbox.claim_due(1)
    await outbox.run_one(first)
    async with db.session() as session:  # due again now, unleased
        await session.execute(
            sa.update(DeliveryRow).values(
                next_attempt_at=utcnow() - timedelta(seconds=1), lease_expires_at=None
            )
        )
    [second] = await outbox.claim_due(1)
    # The recording lands between the claim and the try.
    client = OneInboxClient("http://127.0.0.1:9", "oi_sk_unused")
    updates = RecordingUpdates(
        db,
        client,
        RecordingLinks(b"k" * 32, public_base="http://127.0.0.1:8080", ttl_seconds=3600),
        registry,
        wake_outbox=lambda: None,
    )
    try:
        assert await updates._store(call_id) == 0  # stored; nothing to re-send in place
    finally:
        await client.aclose()
    await outbox.run_one(second)

    assert len(recorder.bodies) == 2
    assert recorder.bodies[0]["recording_url"] is None
    assert recorder.bodies[1] == recorder.bodies[0]
    async with db.session() as session:
        stored = await CallRepository(session).get(call_id)
    assert stored is not None and stored.result is not None
    assert str(stored.result["recording_url"]).startswith("http://127.0.0.1:8080/")
