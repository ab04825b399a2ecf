"""Outbound phone calls: dialled upstream, then stored as `outbound` calls (numbers masked in
the history and logs)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.calls.commands import StartedPhoneCall, StartPhoneCall
from gateway.calls.states import FIRST_POLL_AFTER, CallState
from gateway.oneinbox.client import OneInboxClient
from gateway.phone import mask
from gateway.store.calls import CallRepository
from gateway.store.database import Database
from gateway.store.tables import CallRow, utcnow

log = structlog.get_logger(__name__)

OnPhoneStored = Callable[[AsyncSession, StartedPhoneCall], Awaitable[None]]


async def dial(
    client: OneInboxClient,
    db: Database,
    command: StartPhoneCall,
    agent: tuple[str, str | None],
    on_stored: OnPhoneStored | None,
) -> StartedPhoneCall:
    """Place the call with the resolved `agent` (id, display name) upstream, then store it;
    `on_stored` runs in the storing transaction."""
    agent_id, agent_name = agent
    metadata = {
        **command.metadata,
        "gateway_origin": command.origin.kind,
        "gateway_origin_name": command.origin.name,
    }
    call = await client.start_phone_call(
        agent_id,
        command.to_number,
        from_number=command.from_number,
        variables=command.variables or None,
        metadata=metadata,
    )
    now = utcnow()
    async with db.session() as session:
        row = CallRow(
            id=call.id,
            agent_id=agent_id,
            agent_name=agent_name,
            origin_kind=command.origin.kind,
            origin_name=command.origin.name,
            origin_context=command.origin.context,
            destinations=[d.model_dump() for d in command.destinations],
            state=str(CallState.STARTED),
            call_type="outbound",
            to_number=command.to_number,
            upstream_status=call.status,
            created_at=now,
            next_poll_at=now + FIRST_POLL_AFTER,
        )
        await CallRepository(session).add(
            row, detail=f"dialling {mask(command.to_number)}, started by {command.origin.kind}"
        )
        started = StartedPhoneCall(
            call_id=call.id,
            agent_id=agent_id,
            agent_name=agent_name,
            to_number=command.to_number,
        )
        if on_stored is not None:
            await on_stored(session, started)
    log.info(
        "call.started",
        call_id=call.id,
        agent_id=agent_id,
        type="outbound",
        to_number=mask(command.to_number),
        origin=command.origin.kind,
        origin_name=command.origin.name,
    )
    return started
