"""``create_simulator_app``: a local, in-memory OneInbox for tests, demos and local mode."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.simulator.api import v1_routes
from gateway.simulator.config import SimulatorConfig
from gateway.simulator.control import control_routes
from gateway.simulator.rtc import rtc_routes
from gateway.simulator.speech import check_recording_url, silence_wav
from gateway.simulator.state import SimulatorState


def create_simulator_app(
    config: SimulatorConfig | None = None, *, control_token: str | None = None
) -> Starlette:
    """A Starlette app that behaves like the documented OneInbox API, all in memory.

    With `control_token` (the gateway's `ADMIN_TOKEN` in local mode), the `/_sim/*` control
    routes answer only requests that carry it as a bearer token.

    ``app.state.simulator`` is its ``SimulatorState``. The app's lifespan closes the state;
    when the app is mounted inside another one (whose lifespan runs instead), that app
    should ``await app.state.simulator.aclose()`` on shutdown.
    """
    state = SimulatorState(config or SimulatorConfig())

    async def index(request: Request) -> Response:
        return JSONResponse(
            {
                "service": "OneInbox simulator (local use only)",
                "api": "/v1",
                "control": "/_sim/config, /_sim/stats, /_sim/rtc",
            }
        )

    async def recording(request: Request) -> Response:
        # A pre-signed object-store URL: no API key, the signature and expiry are the check.
        call_id = request.path_params["call_id"]
        refused = check_recording_url(
            call_id,
            request.query_params.get("expires", ""),
            request.query_params.get("signature", ""),
        )
        call = state.calls.get(call_id)
        if refused is None and (call is None or not call.recorded):
            refused = "NoSuchKey"
        if refused is not None:
            return JSONResponse({"error": refused}, status_code=403)
        return Response(silence_wav(), media_type="audio/wav")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await state.aclose()

    routes = [
        Route("/", index, methods=["GET"]),
        *v1_routes(state),
        *rtc_routes(state),
        *control_routes(state, control_token),
        Route("/recordings/{call_id}.wav", recording, methods=["GET"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.simulator = state
    return app
