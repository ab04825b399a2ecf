"""`POST /webhooks/oneinbox`: OneInbox call events, taken as hints to re-read the call.

How OneInbox signs its webhooks is not documented, so the payload is never trusted: an event
only moves its call to the front of the tracker's queue, and the tracker reads the call with
`GET /v1/calls/{id}`. The route is guarded by a shared token derived from
`GATEWAY_SECRET_KEY` (no extra setting), given as `?token=` (the URL registered with
OneInbox) or in the `X-Gateway-Webhook-Token` header.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import pydantic
import structlog
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.calls.tracker import CallTracker
from gateway.http.body import parse_json, read_body, require_json_type
from gateway.http.errors import HTTPProblem
from gateway.oneinbox.client import OneInboxClient
from gateway.oneinbox.errors import OneInboxError
from gateway.settings import Settings
from gateway.validation import first_problem

log = structlog.get_logger(__name__)

PATH = "/webhooks/oneinbox"
TOKEN_HEADER = "x-gateway-webhook-token"  # noqa: S105 (a header name)
WEBHOOK_NAME = "oneinbox-gateway"
EVENTS = [
    "call.started",
    "call.ended",
    "call.analyzed",
    "call.failed",
    "call.recording.available",
    "transcript.partial",
    "transcript.final",
]
# Handles what an event says beyond "look at this call" (a transcript line, a recording);
# True when the event needs no look at the call upstream.
EventHandler = Callable[[str, dict[str, Any]], Awaitable[bool]]


class OneInboxEvent(BaseModel):
    """The fields of an event the gateway reads; everything else is ignored."""

    model_config = ConfigDict(extra="allow")

    event: str = Field(min_length=1, max_length=100)
    call_id: str = Field(min_length=1, max_length=200)


def webhook_token(secret_key: bytes) -> str:
    """The shared token of `POST /webhooks/oneinbox`, derived from `GATEWAY_SECRET_KEY`."""
    return hmac.new(secret_key, b"oneinbox-gateway/webhook-token/v1", hashlib.sha256).hexdigest()


def webhook_url(settings: Settings, token: str) -> str:
    """Where OneInbox should send events: `PUBLIC_BASE_URL/webhooks/oneinbox?token=…`."""
    return f"{settings.public_base}{PATH}?token={token}"


def webhook_routes(
    tracker: CallTracker, token: str, *, on_event: EventHandler | None = None
) -> list[Route]:
    """The one route, bound to the tracker it hints and the handler of event contents."""

    async def receive(request: Request) -> Response:
        given = request.query_params.get("token") or request.headers.get(TOKEN_HEADER) or ""
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise HTTPProblem(401, "unauthorized", "missing or wrong webhook token")
        raw = await read_body(request)
        require_json_type(request)
        data = parse_json(raw)
        try:
            event = OneInboxEvent.model_validate(data)
        except pydantic.ValidationError as exc:
            raise HTTPProblem(422, "invalid_event", first_problem(exc)) from None
        if on_event is not None and await on_event(event.event, data):
            return JSONResponse({"accepted": True, "tracked": True}, status_code=202)
        tracked = await tracker.hint(event.call_id)
        log.info("webhook.hint", hook_event=event.event, call_id=event.call_id, tracked=tracked)
        return JSONResponse({"accepted": True, "tracked": tracked}, status_code=202)

    return [Route(PATH, receive, methods=["POST"])]


def _is_local_host(host: str) -> bool:
    if host in ("localhost", "") or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_link_local


def should_register(settings: Settings) -> bool:
    """Register with OneInbox unless it could not reach us anyway.

    Local mode: always (the simulator runs beside the gateway). Otherwise not when
    `PUBLIC_BASE_URL` is a loopback or private address and OneInbox is not.
    """
    if settings.local_mode:
        return True
    public = urlsplit(settings.public_base_url).hostname or ""
    upstream = urlsplit(settings.oneinbox_base_url).hostname or ""
    return not (_is_local_host(public) and not _is_local_host(upstream))


async def register_webhook(client: OneInboxClient, url: str) -> str | None:
    """Make sure exactly one OneInbox webhook with our `url` exists; returns its id.

    Idempotent: lists first and creates only when missing; if replicas raced and created
    several, every one keeps the same (smallest) id and deletes the others.
    """
    try:
        hooks = await client.list_webhooks()
        ours = sorted(h.id for h in hooks if h.url == url)
        for hook in hooks:
            if hook.url == url and set(EVENTS) - set(hook.events):
                await client.update_webhook_events(hook.id, list(EVENTS))
        if not ours:
            await client.create_webhook(WEBHOOK_NAME, url, list(EVENTS))
            hooks = await client.list_webhooks()
            ours = sorted(h.id for h in hooks if h.url == url)
        for extra in ours[1:]:
            await client.delete_webhook(extra)
    except OneInboxError as exc:
        log.warning("webhook.registration_failed", error=str(exc), fallback="polling only")
        return None
    if not ours:
        return None
    log.info("webhook.registered", webhook_id=ours[0], path=PATH)
    return ours[0]
