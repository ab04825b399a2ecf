"""`POST /hooks/{name}`: size limit, authentication, rate limit, parse, plan, run, answer."""

from __future__ import annotations

import time
from collections.abc import Mapping
from urllib.parse import quote

import structlog
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from gateway import jsontext
from gateway.context import AppContext
from gateway.http.body import read_body
from gateway.http.errors import HTTPProblem
from gateway.http.lockout import FailedAuthLockout, client_address
from gateway.http.retry_after import retry_after_header
from gateway.oneinbox.retry import CALLER_DEADLINE_SECONDS, answer_within
from integrations.hooks.actions import HookRunner, Plan, plan_item
from integrations.hooks.adapters import Answer
from integrations.hooks.auth import AuthFailed, SignedRequest
from integrations.hooks.config import Hook
from integrations.hooks.mapping import MappingError

log = structlog.get_logger(__name__)

# Never shown to field mapping, whatever the scheme: they carry credentials.
ALWAYS_HIDDEN = frozenset({"authorization", "cookie", "proxy-authorization"})
MAX_ITEMS = 100  # a Salesforce Outbound Message holds at most 100 notifications
MAX_HEADER_KEY = 255  # Stripe's limit; a UUID is 36


class HookEndpoint:
    """The one route every configured hook shares."""

    def __init__(self, ctx: AppContext, hooks: Mapping[str, Hook]) -> None:
        self.ctx = ctx
        self.hooks = hooks
        self.runner = HookRunner(ctx)
        self.lockout = FailedAuthLockout()

    def routes(self) -> list[BaseRoute]:
        methods = ["POST", "GET", "PUT", "PATCH", "DELETE"]  # all but POST get a JSON 405
        return [Route("/hooks/{name}", self.handle, methods=methods, name="hook")]

    def signed_url(self, request: Request, name: str) -> str:
        """The URL the sender called, rebuilt from PUBLIC_BASE_URL (not the Host header)."""
        url = f"{self.ctx.settings.public_base}/hooks/{quote(name, safe='')}"
        # The raw query as sent (what `request.url.query` holds, without parsing the whole URL).
        query = request.scope.get("query_string", b"").decode()
        return f"{url}?{query}" if query else url

    async def handle(self, request: Request) -> Response:
        """Answer one hook request; every failure is an `HTTPProblem` with a clear message."""
        if request.method != "POST":
            raise HTTPProblem(405, "method_not_allowed", "use POST", headers={"Allow": "POST"})
        name = request.path_params["name"]
        hook = self.hooks.get(name)
        if hook is None:
            raise HTTPProblem(404, "unknown_hook", f"no hook named {name!r} is configured")
        # Token schemes (bearer, basic) can be guessed online: wrong tries slow an address down.
        address = client_address(request) if hook.verifier.guessable else None
        if address is not None:
            self.lockout.check(address)
        raw = await read_body(request)
        headers = {k.lower(): v for k, v in request.headers.items()}
        signed = SignedRequest(request.method, self.signed_url(request, name), headers, raw)
        try:
            hook.verifier.verify(signed)
        except AuthFailed as exc:
            if address is not None:
                self.lockout.failed(address)
            log.warning("hook.unauthorized", hook=name, reason=str(exc))
            raise HTTPProblem(401, "unauthorized", "authentication failed") from None
        if address is not None:
            self.lockout.succeeded(address)
        if hook.limiter is not None:
            wait = hook.limiter.take(time.monotonic())
            if wait > 0:
                raise HTTPProblem(
                    429,
                    "rate_limited",
                    f"hook {name!r} allows {hook.config.rate_limit}; retry later",
                    headers={"Retry-After": retry_after_header(wait)},
                )
        plans = await self._plan(request, hook, raw, headers, signed)
        with answer_within(CALLER_DEADLINE_SECONDS):
            answers = [await self.runner.run(hook, plan) for plan in plans]
        log.info("hook.accepted", hook=name, items=len(answers))
        custom = hook.adapter.acknowledge(answers)
        if custom is not None:
            return custom
        return _json(answers[0])

    async def _plan(
        self,
        request: Request,
        hook: Hook,
        raw: bytes,
        headers: Mapping[str, str],
        signed: SignedRequest,
    ) -> list[Plan]:
        items = hook.adapter.parse(request, raw)
        if not items:
            raise HTTPProblem(422, "empty", "the request holds nothing to act on")
        if len(items) > MAX_ITEMS:
            raise HTTPProblem(422, "too_many_items", f"at most {MAX_ITEMS} items per request")
        hidden = ALWAYS_HIDDEN | set(hook.verifier.secret_headers)
        visible = {k: v for k, v in headers.items() if k not in hidden}
        query = dict(request.query_params)
        header_key = _header_key(headers)
        signed_id = hook.verifier.delivery_id(signed)
        plans = []
        for index, item in enumerate(items):
            document = {"body": item.body, "headers": visible, "query": query}
            header = header_key if len(items) == 1 else None
            wanted = signed_id is not None or header is None  # the header wins when unsigned
            mapped = _key_from(hook, document) if wanted and hook.idempotency_key else None
            key = idempotency_key(
                signed_id=signed_id,
                header=header,
                mapped=mapped,
                sender_id=item.sender_id,
                index=index if len(items) > 1 else None,
            )
            plans.append(await plan_item(self.ctx, hook, item, document, key))
        return plans


def idempotency_key(
    *,
    signed_id: str | None,
    header: str | None,
    mapped: str | None,
    sender_id: str | None,
    index: int | None,
) -> str | None:
    """The one key an item runs under.

    A signed request (Standard Webhooks `webhook-id`, the HubSpot v3 signature) is keyed by
    what its signature covers: the `idempotency_key` expression over the body, else the
    item's own id, else the signed id. Its `Idempotency-Key` header is ignored, since whoever
    replays a captured request within the tolerance window can change it. An unsigned
    request (bearer, basic, HMAC of the body alone) keeps the header first.
    """
    if signed_id is not None:
        return mapped or sender_id or (signed_id if index is None else f"{signed_id}:{index}")
    return header or mapped or sender_id


def _header_key(headers: Mapping[str, str]) -> str | None:
    key = headers.get("idempotency-key", "").strip()
    if len(key) > MAX_HEADER_KEY:
        raise HTTPProblem(
            400, "invalid_idempotency_key", f"Idempotency-Key is over {MAX_HEADER_KEY} characters"
        )
    return key or None


def _key_from(hook: Hook, document: Mapping[str, object]) -> str:
    assert hook.idempotency_key is not None
    try:
        return hook.idempotency_key.text(document)
    except MappingError as exc:
        raise HTTPProblem(422, "mapping_failed", f"idempotency_key {exc}") from None


def _json(answer: Answer) -> Response:
    return Response(
        jsontext.dumps_bytes(answer.body),
        status_code=answer.status,
        media_type="application/json",
    )
