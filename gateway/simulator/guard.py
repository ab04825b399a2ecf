"""What wraps every ``/v1`` endpoint: counting, latency, bearer auth, injected faults, errors.

Errors are answered the way OneInbox (a FastAPI service) seems to: ``{"detail": "..."}``, or
``{"detail": [{"loc": [...], "msg": ..., "type": ...}]}`` for invalid input.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pydantic
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.http.body import parse_json, read_body
from gateway.http.errors import HTTPProblem
from gateway.simulator.state import SimulatorState

Handler = Callable[[Request], Awaitable[Response]]
B = TypeVar("B", bound=pydantic.BaseModel)


class ApiError(Exception):
    """Raised by a handler to answer ``status`` with ``{"detail": detail}``."""

    def __init__(self, status: int, detail: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def not_found(kind: str) -> ApiError:
    """``404 {"detail": "<Kind> not found"}``."""
    return ApiError(404, f"{kind} not found")


def v1_route(state: SimulatorState, method: str, path: str, handler: Handler) -> Route:
    """A ``/v1`` route whose handler runs behind stats, latency, auth and fault injection."""
    endpoint = f"{method} /v1{path}"

    async def guarded(request: Request) -> Response:
        state.stats.arrived(endpoint)
        response = await _answer(state, request, handler)
        state.stats.answered(endpoint, response.status_code)
        return response

    return Route(f"/v1{path}", guarded, methods=[method], name=endpoint)


async def _answer(state: SimulatorState, request: Request, handler: Handler) -> Response:
    config = state.config
    if config.latency_seconds:
        await asyncio.sleep(config.latency_seconds)
    if not _authorised(state, request):
        return JSONResponse({"detail": "Invalid API key"}, status_code=401)
    fault = _fault(state)
    if fault is not None:
        return fault
    try:
        return await handler(request)
    except ApiError as exc:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status)


def _authorised(state: SimulatorState, request: Request) -> bool:
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        return False
    key = key.strip()
    allowed = state.config.api_keys
    if allowed is None:
        return key.startswith("oi_sk_")
    return key in allowed


def _fault(state: SimulatorState) -> Response | None:
    config = state.config
    rng = state.fault_rng
    if config.rate_429 and rng.random() < config.rate_429:
        return JSONResponse(
            {"detail": "Rate limit exceeded"},
            status_code=429,
            headers={"Retry-After": f"{config.retry_after_seconds:g}"},
        )
    if config.error_rate_5xx and rng.random() < config.error_rate_5xx:
        status = rng.choice(config.error_statuses)
        return JSONResponse({"detail": f"Simulated upstream error ({status})"}, status_code=status)
    return None


async def read_model(request: Request, model: type[B]) -> B:
    """The JSON body validated by ``model``; invalid input raises a 422 ``ApiError``."""
    data = await read_json_object(request)
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        raise ApiError(422, validation_detail(exc)) from None


async def read_json_object(request: Request) -> Any:
    """The body through the gateway's strict reader (empty is `{}`); 422 when it is not JSON."""
    try:
        raw = await read_body(request)
        return parse_json(raw) if raw.strip() else {}
    except HTTPProblem as exc:
        if exc.status == 413:
            raise ApiError(413, "Request body too large") from None
        detail = [{"type": "json_invalid", "loc": ["body"], "msg": f"JSON decode error: {exc}"}]
        raise ApiError(422, detail) from None


def validation_detail(exc: pydantic.ValidationError, where: str = "body") -> list[dict[str, Any]]:
    """FastAPI-shaped ``detail`` items for a pydantic error."""
    return [
        {"type": err["type"], "loc": [where, *err["loc"]], "msg": err["msg"]}
        for err in exc.errors(include_url=False)
    ]
