"""The async OneInbox API client: one ``httpx.AsyncClient``, one retry policy, typed answers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import pydantic
import structlog

from gateway.http.retry_after import parse_retry_after
from gateway.oneinbox.errors import (
    AuthenticationError,
    NotFoundError,
    OneInboxError,
    RateLimitedError,
    UpstreamUnavailableError,
    ValidationError,
    parse_detail,
)
from gateway.oneinbox.models import Agent, Call, CallPage, Model, WebCall, Webhook
from gateway.oneinbox.retry import (
    RETRYABLE_STATUSES,
    RetryPolicy,
    certainly_not_sent,
    fits_deadline,
)
from gateway.validation import problems

log = structlog.get_logger(__name__)

RequestHook = Callable[[str, str, float], None]
M = TypeVar("M", bound=pydantic.BaseModel)

_REDACTED = "[redacted]"


class OneInboxClient:
    """Client for the OneInbox REST API.

    ``on_request(endpoint, outcome, seconds)`` is called after every attempt, with the
    endpoint template (``GET /v1/calls/{id}``) and ``ok``, the status code (``"429"``),
    ``timeout`` or ``error``. Use it as an async context manager, or call ``aclose()``.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 15.0,
        max_retries: int = 4,
        transport: httpx.AsyncBaseTransport | None = None,
        on_request: RequestHook | None = None,
        retry_policy: RetryPolicy | None = None,
    ) -> None:
        self._api_key = api_key
        self._max_retries = max(0, max_retries)
        self._on_request = on_request
        self._policy = retry_policy or RetryPolicy()
        self.base_url = base_url.rstrip("/")
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers={
                "Authorization": f"Bearer {api_key}",
                "Accept": "application/json",
                "User-Agent": "oneinbox-gateway",
            },
            timeout=httpx.Timeout(timeout),
            transport=transport,
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"OneInboxClient(base_url={self.base_url!r})"

    async def __aenter__(self) -> OneInboxClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the underlying connection pool."""
        await self._http.aclose()

    # Agents and models

    async def create_agent(self, name: str, **fields: Any) -> Agent:
        """Create an agent (OneInbox also creates its model; see ``Agent.llm_id``)."""
        body = {**fields, "name": name}
        data = await self._json("POST", "/v1/agents", "POST /v1/agents", json=body, creates=True)
        return _parse(Agent, data, "POST /v1/agents")

    async def update_agent(self, agent_id: str, **fields: Any) -> Agent:
        """Change an agent's voice and call behaviour; answers the updated agent."""
        endpoint = "PATCH /v1/agents/{id}"
        data = await self._json("PATCH", f"/v1/agents/{_seg(agent_id)}", endpoint, json=fields)
        return _parse(Agent, data, endpoint)

    async def get_agent(self, agent_id: str) -> Agent:
        """Read one agent."""
        endpoint = "GET /v1/agents/{id}"
        data = await self._json("GET", f"/v1/agents/{_seg(agent_id)}", endpoint)
        return _parse(Agent, data, endpoint)

    async def update_model(self, llm_id: str, **fields: Any) -> Model:
        """Change an agent's model (system prompt, temperature, ...)."""
        endpoint = "PATCH /v1/models/{id}"
        data = await self._json("PATCH", f"/v1/models/{_seg(llm_id)}", endpoint, json=fields)
        return _parse(Model, data, endpoint)

    async def get_model(self, llm_id: str) -> Model:
        """Read one model."""
        endpoint = "GET /v1/models/{id}"
        data = await self._json("GET", f"/v1/models/{_seg(llm_id)}", endpoint)
        return _parse(Model, data, endpoint)

    # Calls

    async def start_web_call(
        self,
        agent_id: str,
        *,
        variables: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
        overrides: Mapping[str, Any] | None = None,
    ) -> WebCall:
        """Start a web call; the answer holds ``server_url`` and ``participant_token``.

        Never re-sent once it may have reached OneInbox: a 5xx or a read timeout raises
        ``UpstreamUnavailableError`` and the caller decides (the call may exist upstream).
        """
        body: dict[str, Any] = {"agent_id": agent_id}
        for key, value in (("variables", variables), ("metadata", metadata)):
            if value is not None:
                body[key] = dict(value)
        if overrides is not None:
            body["overrides"] = dict(overrides)
        endpoint = "POST /v1/calls/web"
        try:
            data = await self._json("POST", "/v1/calls/web", endpoint, json=body, creates=True)
            return _parse(WebCall, data, endpoint)
        except OneInboxError as exc:
            if type(exc) is OneInboxError:  # an answer that could not be read: it may be a call
                exc.may_have_arrived = True
            raise

    async def start_phone_call(
        self,
        agent_id: str,
        to_number: str,
        *,
        from_number: str | None = None,
        variables: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Call:
        """Place an outbound phone call to an E.164 number; answers the ``queued`` record.

        Like a web call it is never re-sent once it may have reached OneInbox (a second
        request could ring the phone twice).
        """
        body: dict[str, Any] = {"agent_id": agent_id, "to_number": to_number}
        if from_number is not None:
            body["from_number"] = from_number
        for key, value in (("variables", variables), ("metadata", metadata)):
            if value is not None:
                body[key] = dict(value)
        endpoint = "POST /v1/calls"
        data = await self._json("POST", "/v1/calls", endpoint, json=body, creates=True)
        return _parse(Call, data, endpoint)

    async def stop_call(self, call_id: str) -> None:
        """End a call; a no-op upstream when it already ended."""
        endpoint = "POST /v1/calls/{id}/stop"
        await self._send("POST", f"/v1/calls/{_seg(call_id)}/stop", endpoint)

    async def get_call(self, call_id: str) -> Call:
        """Read one call record (messages and analysis arrive a few seconds after the end)."""
        endpoint = "GET /v1/calls/{id}"
        data = await self._json("GET", f"/v1/calls/{_seg(call_id)}", endpoint)
        return _parse(Call, data, endpoint)

    async def list_calls(
        self,
        *,
        agent_id: str | None = None,
        status: str | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> CallPage:
        """One page of calls, newest first, optionally filtered by agent and status."""
        params: dict[str, str | int] = {"limit": limit, "offset": offset}
        if agent_id is not None:
            params["agent_id"] = agent_id
        if status is not None:
            params["status"] = status
        data = await self._json("GET", "/v1/calls", "GET /v1/calls", params=params)
        return _parse(CallPage, data, "GET /v1/calls")

    async def update_call_outcome(self, call_id: str, outcome: str) -> Call:
        """Override a call's outcome (sent lowercase; OneInbox stores it Title Case)."""
        endpoint = "PATCH /v1/calls/{id}"
        body = {"outcome": outcome.strip().lower()}
        data = await self._json("PATCH", f"/v1/calls/{_seg(call_id)}", endpoint, json=body)
        return _parse(Call, data, endpoint)

    # Webhooks

    async def create_webhook(self, name: str, url: str, events: list[str]) -> Webhook:
        """Register a webhook; the answer's ``secret`` is shown only this once."""
        body = {"name": name, "url": url, "events": list(events)}
        endpoint = "POST /v1/webhooks"
        data = await self._json("POST", "/v1/webhooks", endpoint, json=body, creates=True)
        return _parse(Webhook, data, endpoint)

    async def list_webhooks(self) -> list[Webhook]:
        """Every registered webhook (accepts a bare list or ``{"items": [...]}``)."""
        data = await self._json("GET", "/v1/webhooks", "GET /v1/webhooks")
        items = data.get("items", []) if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise self._bad_answer("GET /v1/webhooks", "expected a list")
        return [_parse(Webhook, item, "GET /v1/webhooks") for item in items]

    async def update_webhook_events(self, webhook_id: str, events: list[str]) -> Webhook:
        """Change the events a webhook receives."""
        endpoint = "PATCH /v1/webhooks/{id}"
        path = f"/v1/webhooks/{_seg(webhook_id)}"
        data = await self._json("PATCH", path, endpoint, json={"events": list(events)})
        return _parse(Webhook, data, endpoint)

    async def delete_webhook(self, webhook_id: str) -> None:
        """Remove a webhook registration."""
        endpoint = "DELETE /v1/webhooks/{id}"
        await self._send("DELETE", f"/v1/webhooks/{_seg(webhook_id)}", endpoint)

    async def reachable(self) -> str:
        """`ok`, `unreachable` (no answer, or a 5xx) or `refused_key` (401/403); one try.

        For readiness probes: a single cheap read, never retried, with a short timeout.
        """
        try:
            response = await self._http.get("/v1/calls", params={"limit": 1}, timeout=3.0)
        except httpx.HTTPError:
            return "unreachable"
        if response.status_code in (401, 403):
            return "refused_key"
        return "unreachable" if response.status_code >= 500 else "ok"

    # Transport

    async def _json(
        self,
        method: str,
        path: str,
        endpoint: str,
        *,
        json: Any = None,
        params: Mapping[str, str | int] | None = None,
        creates: bool = False,
    ) -> Any:
        response = await self._send(
            method, path, endpoint, json=json, params=params, creates=creates
        )
        try:
            return response.json()
        except ValueError:
            raise self._bad_answer(endpoint, "the answer is not JSON") from None

    async def _send(
        self,
        method: str,
        path: str,
        endpoint: str,
        *,
        json: Any = None,
        params: Mapping[str, str | int] | None = None,
        creates: bool = False,
    ) -> httpx.Response:
        """Send with retries; ``creates`` limits retries to requests that never arrived."""
        attempt = 0
        while True:
            started = time.monotonic()
            try:
                response = await self._http.request(method, path, json=json, params=params)
            except httpx.TransportError as exc:
                elapsed = time.monotonic() - started
                outcome = "timeout" if isinstance(exc, httpx.TimeoutException) else "error"
                self._report(endpoint, outcome, elapsed, attempt, error=type(exc).__name__)
                safe_to_retry = not creates or certainly_not_sent(exc)
                retry = safe_to_retry and attempt < self._max_retries
                if retry and await self._wait(endpoint, attempt, None):
                    attempt += 1
                    continue
                raise self._unreachable(endpoint, exc, attempt + 1, creates=creates) from None
            elapsed = time.monotonic() - started
            status = response.status_code
            self._report(endpoint, "ok" if status < 400 else str(status), elapsed, attempt)
            if status < 400:
                return response
            # A creating POST that got a 5xx may have created something: never re-send it.
            retryable = status == 429 or (status in RETRYABLE_STATUSES and not creates)
            if retryable and attempt < self._max_retries:
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                if await self._wait(endpoint, attempt, retry_after):
                    attempt += 1
                    continue
            raise self._error_from(endpoint, response, attempt + 1, creates=creates)

    async def _wait(self, endpoint: str, attempt: int, retry_after: float | None) -> bool:
        """Sleep before the next attempt; False (no sleep) when it would pass the deadline."""
        delay = self._policy.delay(attempt, retry_after)
        if not fits_deadline(delay):
            log.info("oneinbox.retry_past_deadline", endpoint=endpoint, delay=round(delay, 3))
            return False
        log.info("oneinbox.retry", endpoint=endpoint, attempt=attempt + 1, delay=round(delay, 3))
        await asyncio.sleep(delay)
        return True

    def _report(
        self, endpoint: str, outcome: str, seconds: float, attempt: int, error: str | None = None
    ) -> None:
        log.debug(
            "oneinbox.request",
            endpoint=endpoint,
            outcome=outcome,
            seconds=round(seconds, 4),
            attempt=attempt + 1,
            **({"error": error} if error else {}),
        )
        if self._on_request is None:
            return
        try:
            self._on_request(endpoint, outcome, seconds)
        except Exception:  # a metrics hook must never break a request
            log.warning("oneinbox.on_request_failed", endpoint=endpoint, exc_info=True)

    # Errors

    def _scrub(self, text: str) -> str:
        if self._api_key:
            text = text.replace(self._api_key, _REDACTED)
        return text

    def _error_from(
        self, endpoint: str, response: httpx.Response, attempts: int, *, creates: bool = False
    ) -> OneInboxError:
        status = response.status_code
        body = self._scrub(response.text)
        detail = parse_detail(body)
        kwargs: dict[str, Any] = {
            "status_code": status,
            "body": body,
            "detail": detail,
            "endpoint": endpoint,
        }
        said = f": {detail}" if detail else ""
        if status in (401, 403):
            return AuthenticationError(
                f"OneInbox refused the API key ({status}) on {endpoint}: "
                f"check ONEINBOX_API_KEY{said}",
                **kwargs,
            )
        if status == 404:
            return NotFoundError(f"OneInbox found nothing at {endpoint} (404){said}", **kwargs)
        if status in (400, 422):
            return ValidationError(
                f"OneInbox rejected the request to {endpoint} ({status}){said}", **kwargs
            )
        if status == 429:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            hint = f"; it asks to wait {retry_after:g} s" if retry_after is not None else ""
            return RateLimitedError(
                f"OneInbox is rate limiting {endpoint} (429) after {attempts} attempt(s){hint}",
                retry_after=retry_after,
                **kwargs,
            )
        if status >= 500:
            return UpstreamUnavailableError(
                f"OneInbox is unavailable ({status}) for {endpoint} "
                f"after {attempts} attempt(s){said}{_maybe_created(creates)}",
                may_have_arrived=creates,
                **kwargs,
            )
        return OneInboxError(f"OneInbox answered {status} to {endpoint}{said}", **kwargs)

    def _unreachable(
        self, endpoint: str, exc: httpx.TransportError, attempts: int, *, creates: bool = False
    ) -> UpstreamUnavailableError:
        kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "could not be reached"
        reason = self._scrub(str(exc)) or type(exc).__name__
        maybe = creates and not certainly_not_sent(exc)
        return UpstreamUnavailableError(
            f"OneInbox at {self.base_url} {kind} for {endpoint} after {attempts} attempt(s) "
            f"({type(exc).__name__}: {reason}); check ONEINBOX_BASE_URL and the network"
            f"{_maybe_created(maybe)}",
            endpoint=endpoint,
            detail=reason,
            may_have_arrived=maybe,
        )

    def _bad_answer(self, endpoint: str, why: str) -> OneInboxError:
        return OneInboxError(
            f"OneInbox sent an unexpected answer to {endpoint}: {why}", endpoint=endpoint
        )


def _parse(model: type[M], data: Any, endpoint: str) -> M:
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        raise OneInboxError(
            f"OneInbox sent an unexpected answer to {endpoint}: {problems(exc)}",
            endpoint=endpoint,
        ) from None


def _maybe_created(possible: bool) -> str:
    if not possible:
        return ""
    return "; the request may have reached OneInbox, so it was not re-sent (check before retrying)"


def _seg(value: str) -> str:
    """An id as one URL path segment (a stray ``/`` or ``?`` must not change the route)."""
    return quote(str(value), safe="")
