"""The call page's live transcript: Server-Sent Events read from the store.

The stream polls the store (every `poll_seconds`), not this process's memory, so whichever
replica serves the page sees the turns another replica stored. It sends `turn` events (one
per turn whenever its version changes), `state` when the call's state changes, and `end`
once the call has its result (the page then reloads to show the summary), and closes.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

from sse_starlette import EventSourceResponse, ServerSentEvent

from gateway.store.database import Database
from gateway.store.transcripts import call_and_turns

# States in which the call has its result (or never will): the stream ends.
DONE_STATES = frozenset({"analyzed", "failed", "delivered", "lost"})
MAX_SECONDS = 3 * 3600  # a browser left open is not followed forever; it reconnects


async def transcript_events(
    db: Database, call_id: str, *, poll_seconds: float = 0.5
) -> AsyncIterator[ServerSentEvent]:
    """`turn`, `state` and finally `end` events for one call, read from the store."""
    shown: dict[int, int] = {}
    state = ""
    deadline = time.monotonic() + MAX_SECONDS
    while time.monotonic() < deadline:
        call, turns = await db.reading(lambda session: call_and_turns(session, call_id))
        for turn in turns:
            if shown.get(turn.turn) == turn.version:
                continue
            shown[turn.turn] = turn.version
            data = {"turn": turn.turn, "role": turn.role, "text": turn.text, "final": turn.final}
            yield ServerSentEvent(data=json.dumps(data), event="turn")
        now = call.state if call is not None else "lost"
        if now != state:
            state = now
            yield ServerSentEvent(data=json.dumps({"state": state}), event="state")
        if state in DONE_STATES:
            yield ServerSentEvent(data=json.dumps({"state": state}), event="end")
            return
        await asyncio.sleep(poll_seconds)


def transcript_response(db: Database, call_id: str) -> EventSourceResponse:
    """The SSE response (kept alive with a comment every 15 s; not cached, not buffered)."""
    return EventSourceResponse(
        transcript_events(db, call_id),
        ping=15,
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
