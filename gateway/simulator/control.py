"""``/_sim/*``: unauthenticated control endpoints for tests and demos.

The simulator is for local use only: anyone who can reach it can reconfigure it and read the
participant tokens it recorded. Faults never apply here.
"""

from __future__ import annotations

import hmac
from typing import Any

import pydantic
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.http.errors import error_response
from gateway.simulator.config import SimulatorConfig
from gateway.simulator.guard import (
    ApiError,
    not_found,
    read_json_object,
    read_model,
    validation_detail,
)
from gateway.simulator.records import CallRecord
from gateway.simulator.state import SimulatorState


class ScriptedEnd(BaseModel):
    """``POST /_sim/calls/{id}/end``: how the call ends and what its analysis will say."""

    model_config = ConfigDict(extra="forbid")

    outcome: str | None = Field(default=None, max_length=100)
    summary: str | None = Field(default=None, max_length=5000)
    end_reason: str | None = Field(default=None, max_length=100)
    failed: bool = False


def _errors(handler: Any) -> Any:
    async def wrapped(request: Request) -> Response:
        try:
            response: Response = await handler(request)
        except ApiError as exc:
            return JSONResponse({"detail": exc.detail}, status_code=exc.status)
        return response

    return wrapped


def _guarded(handler: Any, token: str | None) -> Any:
    """With a `token`, the route answers 401 unless `Authorization: Bearer <token>` is sent."""
    if token is None:
        return handler
    expected = f"Bearer {token}".encode()

    async def wrapped(request: Request) -> Response:
        given = request.headers.get("authorization", "").strip().encode()
        if not hmac.compare_digest(given, expected):
            return error_response(
                401, "unauthorized", "the simulator's /_sim control needs the admin token"
            )
        answer: Response = await handler(request)
        return answer

    return wrapped


def control_routes(state: SimulatorState, token: str | None = None) -> list[Route]:
    """The ``/_sim`` routes, bound to ``state``; behind `token` when one is given."""

    def call_of(request: Request) -> CallRecord:
        call = state.calls.get(request.path_params["id"])
        if call is None:
            raise not_found("Call")
        return call

    async def get_config(request: Request) -> Response:
        return JSONResponse(state.config.model_dump(mode="json"))

    async def patch_config(request: Request) -> Response:
        raw = await read_json_object(request)
        if not isinstance(raw, dict):
            raise ApiError(422, "expected a JSON object of config fields")
        try:
            state.config = SimulatorConfig.model_validate({**state.config.model_dump(), **raw})
        except pydantic.ValidationError as exc:
            raise ApiError(422, validation_detail(exc)) from None
        return JSONResponse(state.config.model_dump(mode="json"))

    async def join(request: Request) -> Response:
        call = call_of(request)
        if call.is_terminal:
            raise ApiError(409, "Call has already ended")
        state.go_live(call, via="_sim/join")
        return JSONResponse(call.public())

    async def end(request: Request) -> Response:
        call = call_of(request)
        body = await read_model(request, ScriptedEnd)
        default_reason = "error" if body.failed else "customer_ended_call"
        ended = state.end_call(
            call,
            end_reason=body.end_reason or default_reason,
            failed=body.failed,
            outcome=body.outcome,
            summary=body.summary,
        )
        if not ended:
            raise ApiError(409, "Call has already ended")
        return JSONResponse(call.public())

    async def rtc(request: Request) -> Response:
        call_id = request.query_params.get("call_id")
        records = [r for r in state.rtc if call_id is None or r["call_id"] == call_id]
        return JSONResponse(records)

    async def stats(request: Request) -> Response:
        return JSONResponse(state.stats.snapshot())

    async def reset(request: Request) -> Response:
        state.reset()
        return JSONResponse({"reset": True})

    table: list[tuple[str, str, Any]] = [
        ("GET", "/config", get_config),
        ("PATCH", "/config", patch_config),
        ("POST", "/calls/{id}/join", join),
        ("POST", "/calls/{id}/end", end),
        ("GET", "/rtc", rtc),
        ("GET", "/stats", stats),
        ("POST", "/reset", reset),
    ]
    return [
        Route(f"/_sim{path}", _guarded(_errors(fn), token), methods=[m]) for m, path, fn in table
    ]
