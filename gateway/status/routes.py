"""`GET /status/{call_id}/{signature}`: a call's progress and, once over, its outcome.

What a hook caller sees: the state, whether the call is over, outcome, summary, duration and
times. Never the transcript, the join link or anything about other calls. A forged signature
and an unknown call get the same 404.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from gateway.calls.states import CallState
from gateway.http.errors import HTTPProblem
from gateway.status.links import StatusLinks
from gateway.store.calls import CallRepository
from gateway.store.database import Database
from gateway.store.tables import CallRow

OVER = frozenset(
    {CallState.ENDED, CallState.ANALYZED, CallState.DELIVERED, CallState.FAILED, CallState.LOST}
)
HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def status_body(row: CallRow) -> dict[str, Any]:
    """The caller's view of one call."""
    result = row.result or {}
    state = CallState(row.state)
    return {
        "call_id": row.id,
        "state": str(state),
        "over": state in OVER or state is CallState.EXPIRED,
        "result_ready": row.result is not None,
        "outcome": result.get("outcome"),
        "summary": result.get("summary"),
        "duration_seconds": result.get("duration_seconds"),
        "created_at": row.created_at.isoformat(),
        "ended_at": row.ended_at.isoformat() if row.ended_at else None,
    }


def status_routes(db: Database, links: StatusLinks) -> list[BaseRoute]:
    """The status route, reading the store only."""

    async def status(request: Request) -> Response:
        call_id = request.path_params["call_id"]
        if not links.verify(call_id, request.path_params["signature"]):
            raise _not_found()
        row = await db.reading(lambda session: CallRepository(session).get(call_id))
        if row is None:
            raise _not_found()
        return JSONResponse(status_body(row), headers=HEADERS)

    return [Route("/status/{call_id}/{signature}", status, methods=["GET"])]


def _not_found() -> HTTPProblem:
    return HTTPProblem(
        404, "status_link_not_found", "This status link is unknown.", headers=HEADERS
    )
