"""LiveKit-shaped signalling endpoints: enough for a browser to "join" a simulated call.

livekit-client 2.x opens ``{server_url}/rtc/v1?access_token=…``; after a failure it asks
``GET …/rtc/v1/validate`` and may fall back to ``{server_url}/rtc``. The simulator accepts
both, records every attempt, and a valid token moves its call to ``in_progress``. It speaks
no LiveKit protocol: the socket stays open, silent, until the client leaves or the call ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from gateway.simulator.records import CallRecord, iso
from gateway.simulator.state import SimulatorState


def _call_for(state: SimulatorState, token: str) -> tuple[CallRecord | None, str]:
    """The live call a token admits to, or None and why not."""
    if not token:
        return None, "missing access_token"
    claims = state.tokens.verify(token)
    if claims is None:
        return None, "invalid or expired token"
    call = state.calls.get(str(claims.get("call_id")))
    room = (claims.get("video") or {}).get("room")
    if call is None or call.room_name != room:
        return None, "unknown room"
    if call.is_terminal:
        return None, "call has ended"
    return call, "ok"


def rtc_routes(state: SimulatorState) -> list[BaseRoute]:
    """``/rtc`` and ``/rtc/v1`` sockets plus their ``/validate`` twins, bound to ``state``."""

    def socket_endpoint(path: str) -> Any:
        async def rtc(websocket: WebSocket) -> None:
            token = websocket.query_params.get("access_token", "")
            call, reason = _call_for(state, token)
            record: dict[str, Any] = {
                "path": path,
                "token": token,
                "call_id": call.id if call else None,
                "valid": call is not None,
                "reason": reason,
                "params": {k: v for k, v in websocket.query_params.items() if k != "access_token"},
                "connected_at": iso(time.time()),
                "closed_at": None,
            }
            state.rtc.append(record)
            if call is None:
                await websocket.close(code=1008)  # before accept: the handshake gets 403
                return
            await websocket.accept()
            state.go_live(call, via=path)
            closed = state.attach_socket(call)
            try:
                await _hold(websocket, closed)
            finally:
                record["closed_at"] = iso(time.time())
                state.detach_socket(call, closed)

        return rtc

    async def validate(request: Request) -> Response:
        call, reason = _call_for(state, request.query_params.get("access_token", ""))
        if call is None:
            return PlainTextResponse(reason, status_code=401)
        return PlainTextResponse("success")

    return [
        WebSocketRoute("/rtc", socket_endpoint("/rtc")),
        WebSocketRoute("/rtc/v1", socket_endpoint("/rtc/v1")),
        Route("/rtc/validate", validate, methods=["GET"]),
        Route("/rtc/v1/validate", validate, methods=["GET"]),
    ]


async def _hold(websocket: WebSocket, closed: asyncio.Event) -> None:
    """Keep the socket open until the client goes or ``closed`` is set (the call ended)."""

    async def drain() -> None:
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    return

    reader = asyncio.create_task(drain())
    ended = asyncio.create_task(closed.wait())
    try:
        done, _ = await asyncio.wait({reader, ended}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (reader, ended):
            task.cancel()
    if ended in done and reader not in done:
        with contextlib.suppress(Exception):
            await websocket.close(code=1000, reason="call ended")
