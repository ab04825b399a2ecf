"""Pure ASGI middleware: a request id on every request, one log line per request, and a
header size limit (431) before any route sees the request."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import structlog
from sqlalchemy import exc as sa_exc
from starlette.responses import Response
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.http.errors import error_response

log = structlog.get_logger("gateway.http")

RequestObserver = Callable[[str, str, int, float], None]  # method, route, status, seconds

# Real senders (Slack, CRMs, browsers) send a few KiB; uvicorn's httptools parser has no limit.
MAX_HEADER_BYTES = 32 * 1024  # all headers together
MAX_HEADER_VALUE_BYTES = 8 * 1024  # any one header


def headers_too_large(headers: list[tuple[bytes, bytes]]) -> bool:
    """True when the request's headers are over either limit."""
    total = 0
    for name, value in headers:
        if len(value) > MAX_HEADER_VALUE_BYTES:
            return True
        total += len(name) + len(value) + 4
    return total > MAX_HEADER_BYTES


class RequestContextMiddleware:
    """Binds `request_id` for every log line of the request and echoes it as `X-Request-ID`."""

    def __init__(self, app: ASGIApp, observers: list[RequestObserver] | None = None) -> None:
        self.app = app
        self.observers = observers if observers is not None else []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers", [])).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if 0 < len(incoming) <= 64 and incoming.isprintable() else ""
        request_id = request_id or os.urandom(16).hex()  # as uuid4().hex, a third of the time
        status = 500
        started = time.perf_counter()
        responded = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, responded
            if message["type"] == "http.response.start":
                responded = True
                status = int(message["status"])
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                if headers_too_large(scope.get("headers", [])):
                    response = error_response(
                        431, "headers_too_large", "the request headers are too large"
                    )
                    await response(scope, receive, send_with_id)
                    return
                try:
                    await self.app(scope, receive, send_with_id)
                except Exception as exc:
                    if responded:
                        raise
                    await _failure_response(exc, request_id)(scope, receive, send_with_id)
            finally:
                elapsed = time.perf_counter() - started
                route = _route_template(scope)
                log.info(
                    "http.request",
                    method=scope["method"],
                    route=route,
                    status=status,
                    ms=round(elapsed * 1000, 1),
                )
                for observe in self.observers:
                    observe(scope["method"], route, status, elapsed)


def _failure_response(exc: Exception, request_id: str) -> Response:
    """The JSON answer to an exception no route handled, logged once (redacted, no locals).

    A store that cannot write (full disk, read-only) is a 503 the sender may retry; anything
    else is a 500 naming the request id, never the exception.
    """
    if isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError | OSError):
        log.error("http.store_unavailable", error=f"{type(exc).__name__}: {exc}")
        return error_response(
            503,
            "store_unavailable",
            "the gateway cannot use its store just now; retry later",
            headers={"Retry-After": "5"},
        )
    log.error("http.unhandled", exc_info=exc)
    return error_response(
        500, "internal_error", f"the gateway failed on this request (request id {request_id})"
    )


def _route_template(scope: Scope) -> str:
    """The matched route's path template (never the raw path: it may hold link ids)."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(route, Mount):
        # A mount answered itself (static files): its `root_path` already ends with the
        # mount's path, so the label is the mount's template and the rest as `{path}`.
        return str(scope.get("app_root_path", "")) + route.path + "/{path}"
    if isinstance(path, str):
        # A route inside a mount (the simulator's API): the mount's prefix, then the route's.
        return scope.get("root_path", "") + path if scope.get("root_path") else path
    return "unmatched"
