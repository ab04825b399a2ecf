"""The async OneInbox API client: one ``httpx.AsyncClient``, one retry policy, typed answers.

Each method here is one endpoint; `sender.py` sends with retries and `failures.py` turns a
failed request into the error the caller sees.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx

from gateway.oneinbox.errors import OneInboxError
from gateway.oneinbox.failures import bad_answer, parse
from gateway.oneinbox.models import Agent, Call, CallPage, Model, WebCall, Webhook
from gateway.oneinbox.retry import RetryPolicy
from gateway.oneinbox.sender import RequestHook, Sender
from gateway.oneinbox.transport import OneInboxTransport

# Connections to OneInbox when no transport is given (the gateway passes its setting,
# ONEINBOX_MAX_CONNECTIONS).
DEFAULT_MAX_CONNECTIONS = 100

__all__ = ["OneInboxClient", "RequestHook"]


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
        self.base_url = base_url.rstrip("/")
        if transport is None:
            transport = OneInboxTransport(max_connections=DEFAULT_MAX_CONNECTIONS)
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
        self._sender = Sender(
            self._http,
            base_url=self.base_url,
            api_key=api_key,
            max_retries=max_retries,
            policy=retry_policy or RetryPolicy(),
            on_request=on_request,
            direct=transport if isinstance(transport, OneInboxTransport) else None,
            timeout=timeout,
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
        data = await self._sender.read_json(
            "POST", "/v1/agents", "POST /v1/agents", json=body, creates=True
        )
        return parse(Agent, data, "POST /v1/agents")

    async def update_agent(self, agent_id: str, **fields: Any) -> Agent:
        """Change an agent's voice and call behaviour; answers the updated agent."""
        endpoint = "PATCH /v1/agents/{id}"
        data = await self._sender.read_json(
            "PATCH", f"/v1/agents/{_seg(agent_id)}", endpoint, json=fields
        )
        return parse(Agent, data, endpoint)

    async def get_agent(self, agent_id: str) -> Agent:
        """Read one agent."""
        endpoint = "GET /v1/agents/{id}"
        data = await self._sender.read_json("GET", f"/v1/agents/{_seg(agent_id)}", endpoint)
        return parse(Agent, data, endpoint)

    async def update_model(self, llm_id: str, **fields: Any) -> Model:
        """Change an agent's model (system prompt, temperature, ...)."""
        endpoint = "PATCH /v1/models/{id}"
        data = await self._sender.read_json(
            "PATCH", f"/v1/models/{_seg(llm_id)}", endpoint, json=fields
        )
        return parse(Model, data, endpoint)

    async def get_model(self, llm_id: str) -> Model:
        """Read one model."""
        endpoint = "GET /v1/models/{id}"
        data = await self._sender.read_json("GET", f"/v1/models/{_seg(llm_id)}", endpoint)
        return parse(Model, data, endpoint)

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
            data = await self._sender.read_json(
                "POST", "/v1/calls/web", endpoint, json=body, creates=True
            )
            return parse(WebCall, data, endpoint)
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
        data = await self._sender.read_json("POST", "/v1/calls", endpoint, json=body, creates=True)
        return parse(Call, data, endpoint)

    async def stop_call(self, call_id: str) -> None:
        """End a call; a no-op upstream when it already ended."""
        endpoint = "POST /v1/calls/{id}/stop"
        await self._sender.send("POST", f"/v1/calls/{_seg(call_id)}/stop", endpoint)

    async def get_call(self, call_id: str) -> Call:
        """Read one call record (messages and analysis arrive a few seconds after the end)."""
        endpoint = "GET /v1/calls/{id}"
        data = await self._sender.read_json("GET", f"/v1/calls/{_seg(call_id)}", endpoint)
        return parse(Call, data, endpoint)

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
        data = await self._sender.read_json("GET", "/v1/calls", "GET /v1/calls", params=params)
        return parse(CallPage, data, "GET /v1/calls")

    async def update_call_outcome(self, call_id: str, outcome: str) -> Call:
        """Override a call's outcome (sent lowercase; OneInbox stores it Title Case)."""
        endpoint = "PATCH /v1/calls/{id}"
        body = {"outcome": outcome.strip().lower()}
        data = await self._sender.read_json(
            "PATCH", f"/v1/calls/{_seg(call_id)}", endpoint, json=body
        )
        return parse(Call, data, endpoint)

    # Webhooks

    async def create_webhook(self, name: str, url: str, events: list[str]) -> Webhook:
        """Register a webhook; the answer's ``secret`` is shown only this once."""
        body = {"name": name, "url": url, "events": list(events)}
        endpoint = "POST /v1/webhooks"
        data = await self._sender.read_json(
            "POST", "/v1/webhooks", endpoint, json=body, creates=True
        )
        return parse(Webhook, data, endpoint)

    async def list_webhooks(self) -> list[Webhook]:
        """Every registered webhook (accepts a bare list or ``{"items": [...]}``)."""
        data = await self._sender.read_json("GET", "/v1/webhooks", "GET /v1/webhooks")
        items = data.get("items", []) if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise bad_answer("GET /v1/webhooks", "expected a list")
        return [parse(Webhook, item, "GET /v1/webhooks") for item in items]

    async def update_webhook_events(self, webhook_id: str, events: list[str]) -> Webhook:
        """Change the events a webhook receives."""
        endpoint = "PATCH /v1/webhooks/{id}"
        path = f"/v1/webhooks/{_seg(webhook_id)}"
        data = await self._sender.read_json("PATCH", path, endpoint, json={"events": list(events)})
        return parse(Webhook, data, endpoint)

    async def delete_webhook(self, webhook_id: str) -> None:
        """Remove a webhook registration."""
        endpoint = "DELETE /v1/webhooks/{id}"
        await self._sender.send("DELETE", f"/v1/webhooks/{_seg(webhook_id)}", endpoint)

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


def _seg(value: str) -> str:
    """An id as one URL path segment (a stray ``/`` or ``?`` must not change the route)."""
    return quote(str(value), safe="")
