"""An analyzed call with its result stored and its deliveries queued, as the tracker leaves it."""

from __future__ import annotations

from typing import Any

from gateway.calls.commands import Origin
from gateway.calls.result import CallResult
from gateway.delivery.outbox import Outbox
from gateway.store.calls import CallRepository
from gateway.store.database import Database
from gateway.store.tables import CallRow


async def analyzed_call(
    db: Database, outbox: Outbox, call_id: str, destinations: list[dict[str, Any]]
) -> None:
    result = CallResult(
        call_id=call_id,
        agent_id="agt_1",
        status="completed",
        origin=Origin(kind="hook", name="crm"),
    )
    async with db.session() as session:
        row = CallRow(
            id=call_id,
            agent_id="agt_1",
            origin_kind="hook",
            origin_name="crm",
            destinations=destinations,
            state="analyzed",
            result=result.model_dump(mode="json"),
        )
        await CallRepository(session).add(row)
        await outbox.enqueue_for(session, row, result)
