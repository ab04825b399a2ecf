"""`/api/*`: the admin API (see `/openapi.json`), behind `Authorization: Bearer <ADMIN_TOKEN>`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pydantic
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.admin import actions, destinations, queries
from gateway.admin.auth import require_admin
from gateway.admin.models import (
    CallPage,
    DeliveryPage,
    DestinationPage,
    ReplayAccepted,
    SendTestEventRequest,
    StartCallRequest,
    StartedCallBody,
    StopAccepted,
)
from gateway.calls.commands import Origin
from gateway.calls.states import CallState
from gateway.context import AppContext
from gateway.delivery.health import UnknownEndpointError
from gateway.delivery.probe import NotACallbackError
from gateway.http.body import parse_json, read_body, require_json_type
from gateway.http.errors import HTTPProblem
from gateway.http.lockout import FailedAuthLockout
from gateway.oneinbox.retry import CALLER_DEADLINE_SECONDS, answer_within
from gateway.validation import first_problem

Handler = Callable[[Request], Awaitable[Response]]
MAX_PAGE = 200


def _json(model: pydantic.BaseModel, status: int = 200) -> JSONResponse:
    return JSONResponse(model.model_dump(mode="json"), status_code=status)


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    # ASCII digits only: `isdigit()` also takes `²`, which `int()` refuses.
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 12) or not low <= int(raw) <= high:
        raise HTTPProblem(400, "invalid_query", f"{name} must be an integer from {low} to {high}")
    return int(raw)


def _bool_param(request: Request, name: str) -> bool:
    raw = request.query_params.get(name, "false").lower()
    if raw not in ("true", "false", "1", "0"):
        raise HTTPProblem(400, "invalid_query", f"{name} must be true or false")
    return raw in ("true", "1")


def validation_problem(exc: pydantic.ValidationError) -> HTTPProblem:
    """The first problem of a body, named by its field (never echoing the value)."""
    return HTTPProblem(422, "invalid_body", first_problem(exc))


def admin_routes(ctx: AppContext) -> list[Route]:
    """The admin API's routes; each checks the token before reading anything else."""

    lockout = FailedAuthLockout()

    def guarded(handler: Handler) -> Handler:
        async def run(request: Request) -> Response:
            require_admin(request, ctx.settings, lockout)
            return await handler(request)

        return run

    async def list_calls(request: Request) -> Response:
        state = request.query_params.get("state")
        if state is not None and state not in {str(s) for s in CallState}:
            raise HTTPProblem(400, "invalid_query", "state must be one of the call states")
        limit = _int_param(request, "limit", 50, 1, MAX_PAGE)
        offset = _int_param(request, "offset", 0, 0, 1_000_000)
        calls = await queries.list_calls(ctx.db, limit=limit, offset=offset, state=state)
        return _json(CallPage(calls=calls, limit=limit, offset=offset))

    async def show_call(request: Request) -> Response:
        detail = await queries.call_detail(ctx.db, request.path_params["call_id"])
        if detail is None:
            raise HTTPProblem(404, "unknown_call", "the gateway has no call with that id")
        return _json(detail)

    async def start_call(request: Request) -> Response:
        raw = await read_body(request)
        require_json_type(request)
        try:
            body = StartCallRequest.model_validate(parse_json(raw))
        except pydantic.ValidationError as exc:
            raise validation_problem(exc) from None
        origin = Origin(kind="admin", name="admin-api")
        # As for hooks: a OneInbox `Retry-After` longer than this is a 503 the client retries.
        with answer_within(CALLER_DEADLINE_SECONDS):
            started = await actions.start_call(ctx, body, origin)
        base = ctx.settings.public_base
        answer = StartedCallBody(
            **started.model_dump(), status_url=f"{base}/api/calls/{started.call_id}"
        )
        return _json(answer, status=201)

    async def stop_call(request: Request) -> Response:
        call_id = request.path_params["call_id"]
        await actions.stop_call(ctx, call_id)
        return _json(StopAccepted(call_id=call_id), status=202)

    async def list_deliveries(request: Request) -> Response:
        limit = _int_param(request, "limit", 50, 1, MAX_PAGE)
        offset = _int_param(request, "offset", 0, 0, 1_000_000)
        failed = _bool_param(request, "failed")
        state = request.query_params.get("state") or None
        deliveries = await queries.list_deliveries(
            ctx.db, limit=limit, offset=offset, state=state, failed=failed
        )
        return _json(DeliveryPage(deliveries=deliveries, limit=limit, offset=offset))

    async def replay(request: Request) -> Response:
        delivery_id = request.path_params["delivery_id"]
        view = await queries.replay_delivery(ctx.db, delivery_id, by="admin-api")
        answer = ReplayAccepted(
            delivery_id=view.id, state=view.state, next_attempt_at=view.next_attempt_at
        )
        return _json(answer, status=202)

    async def list_destinations(request: Request) -> Response:
        found = await destinations.list_destinations(ctx.db)
        after = ctx.settings.destination_disable_after_seconds or None
        return _json(DestinationPage(destinations=found, disable_after_seconds=after))

    async def enable_destination(request: Request) -> Response:
        try:
            done = await destinations.enable(
                ctx.db, request.path_params["destination_id"], by="admin-api"
            )
        except UnknownEndpointError:
            raise HTTPProblem(404, "unknown_destination", "no destination has that id") from None
        return _json(done)

    async def test_destination(request: Request) -> Response:
        allow = ctx.settings.callback_allow_private
        try:
            sent = await destinations.send_test_to_destination(
                ctx.db, request.path_params["destination_id"], allow_private=allow, by="admin-api"
            )
        except UnknownEndpointError:
            raise HTTPProblem(404, "unknown_destination", "no destination has that id") from None
        except NotACallbackError as exc:
            raise HTTPProblem(422, "not_a_callback", str(exc)) from None
        return _json(sent)

    async def test_url(request: Request) -> Response:
        raw = await read_body(request)
        require_json_type(request)
        try:
            body = SendTestEventRequest.model_validate(parse_json(raw))
        except pydantic.ValidationError as exc:
            raise validation_problem(exc) from None
        await actions.check_callback_target(ctx, body.url, body.secret_env)
        sent = await destinations.send_test_to_url(
            body.url,
            body.secret_env,
            allow_private=ctx.settings.callback_allow_private,
            by="admin-api",
        )
        return _json(sent)

    return [
        Route("/api/calls", guarded(list_calls), methods=["GET"]),
        Route("/api/calls", guarded(start_call), methods=["POST"]),
        Route("/api/calls/{call_id}", guarded(show_call), methods=["GET"]),
        Route("/api/calls/{call_id}/stop", guarded(stop_call), methods=["POST"]),
        Route("/api/deliveries", guarded(list_deliveries), methods=["GET"]),
        Route("/api/deliveries/{delivery_id}/replay", guarded(replay), methods=["POST"]),
        Route("/api/destinations", guarded(list_destinations), methods=["GET"]),
        Route("/api/destinations/test", guarded(test_url), methods=["POST"]),
        Route(
            "/api/destinations/{destination_id}/enable",
            guarded(enable_destination),
            methods=["POST"],
        ),
        Route(
            "/api/destinations/{destination_id}/test", guarded(test_destination), methods=["POST"]
        ),
    ]
