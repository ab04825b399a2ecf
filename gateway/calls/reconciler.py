"""IntentReconciler: resolves call starts whose request never recorded an outcome.

A start's intent (see `gateway.store.idempotency`) is written before OneInbox is asked. If the
process dies, the answer never comes, or the store fails afterwards, the intent stays
`in_progress`. Once it is older than the grace (`INTENT_GRACE_SECONDS`; the start request
itself gives up at half of it), this worker looks its start id up upstream: `GET /v1/calls`
for the intent's agent, newest first, back to a little before the intent was made, matching
`metadata.gateway_start_id`. A call found is adopted (stored, so the tracker follows it and
its result is delivered; the key's answer names it); none found releases the key, so the
sender's retry starts the call cleanly. It runs at start-up and then every few seconds.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial
from typing import Any

import structlog

from gateway.calls.service import START_ID, CallService
from gateway.calls.states import CallState
from gateway.oneinbox.errors import OneInboxError
from gateway.oneinbox.models import Call
from gateway.store import idempotency as intents
from gateway.store.tables import utcnow
from gateway.workers import PeriodicWorker

log = structlog.get_logger(__name__)

PAGE = 100
MAX_PAGES = 50
# Clocks differ: look a little further back than the intent's own time.
CLOCK_SLACK = timedelta(minutes=5)


class IntentReconciler(PeriodicWorker):
    """A worker: adopt or release intents left unresolved past the grace."""

    name = "intent-reconciler"

    def __init__(self, calls: CallService, *, interval: float | None = None) -> None:
        grace = calls.intent_grace
        super().__init__(interval=interval or max(0.5, min(30.0, grace / 4)))
        self.calls = calls
        self.db = calls.db
        self.client = calls.client

    async def tick(self) -> None:
        await self.reconcile_once()

    async def reconcile_once(self) -> dict[str, int]:
        """Resolve every intent past the grace; returns how many were adopted and released."""
        older_than = utcnow() - timedelta(seconds=self.calls.intent_grace)
        rows = await self.db.write(partial(intents.unresolved, older_than=older_than))
        counts = {"adopted": 0, "released": 0, "unresolved": 0}
        for row in rows:
            try:
                # A blank agent: a key with no web start behind it (a phone call, an agent
                # creation) whose process died; nothing to look up, so it is released.
                found = (
                    await self._find(row.agent_id, row.start_id, row.created_at)
                    if row.agent_id
                    else None
                )
            except OneInboxError as exc:
                log.warning("intent.lookup_failed", start_id=row.start_id, error=str(exc))
                counts["unresolved"] += 1
                continue
            if found is None:
                released = await self.db.write(partial(intents.release, start_id=row.start_id))
                if released:
                    counts["released"] += 1
                    log.info("intent.released", start_id=row.start_id, scope=row.scope)
                continue
            if await self._adopt(row, found):
                counts["adopted"] += 1
                log.info("intent.adopted", start_id=row.start_id, call_id=found.id)
        return counts

    async def _find(self, agent_id: str, start_id: str, since: datetime) -> Call | None:
        """The upstream call that carries `start_id`, looking back to `since` (with slack)."""
        floor = since - CLOCK_SLACK
        for page in range(MAX_PAGES):
            listed = await self.client.list_calls(agent_id=agent_id, limit=PAGE, offset=page * PAGE)
            for call in listed.items:
                if (call.metadata or {}).get(START_ID) == start_id:
                    return call
            oldest = listed.items[-1].created_at if listed.items else None
            if len(listed.items) < PAGE or (oldest is not None and oldest < floor):
                return None
        return None

    async def _adopt(self, row: Any, found: Call) -> bool:
        detail: dict[str, Any] = row.intent or {}
        now = utcnow()
        call = {
            "id": found.id,
            "agent_id": row.agent_id,
            "agent_name": detail.get("agent_name"),
            "origin_kind": detail.get("origin_kind") or "hook",
            "origin_name": detail.get("origin_name") or row.scope,
            "origin_context": detail.get("origin_context") or {},
            "destinations": detail.get("destinations") or [],
            "state": str(CallState.STARTED),
            "upstream_status": found.status,
            "created_at": row.created_at,
            "updated_at": now,
            "next_poll_at": now,  # look at it at once: it may have ended meanwhile
        }
        # No join link: the participant token is only in the start's answer, which was lost.
        body = self.calls.answer_body(found.id, None)
        adopted = partial(intents.adopt, start_id=row.start_id, call=call, body=body)
        return bool(await self.db.write(adopted))
