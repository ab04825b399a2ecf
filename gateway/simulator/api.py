"""The simulated ``/v1`` API: agents, models, calls and webhooks."""

from __future__ import annotations

import base64
import secrets
import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.simulator.guard import ApiError, not_found, read_model, v1_route
from gateway.simulator.records import iso, new_id
from gateway.simulator.state import SimulatorState
from gateway.simulator.webhooks import EVENTS, WebhookRecord

E164 = r"^\+[1-9][0-9]{1,14}$"


class _Body(BaseModel):
    model_config = ConfigDict(extra="allow")


class AgentFields(_Body):
    """Agent fields the simulator checks; any other field is stored as sent."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    language: str | None = None
    first_message: str | None = None
    interruption_sensitivity: float | None = Field(default=None, ge=0, le=1)
    silence_timeout_seconds: float | None = Field(default=None, gt=0)
    max_duration_seconds: float | None = Field(default=None, gt=0)
    enable_recording: bool | None = None


class AgentCreate(AgentFields):
    """``POST /v1/agents``: only ``name`` is required."""

    name: str = Field(min_length=1, max_length=200)


class ModelFields(_Body):
    """``PATCH /v1/models/{id}``."""

    name: str | None = None
    provider: str | None = None
    model: str | None = None
    system_prompt: str | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, gt=0)
    tool_ids: list[str] | None = None
    knowledge_base_ids: list[str] | None = None


class WebCallCreate(_Body):
    """``POST /v1/calls/web``."""

    agent_id: str = Field(min_length=1)
    variables: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    overrides: dict[str, Any] | None = None


class PhoneCallCreate(_Body):
    """``POST /v1/calls``: an outbound phone call; numbers must be E.164."""

    agent_id: str = Field(min_length=1)
    to_number: str = Field(pattern=E164)
    from_number: str | None = Field(default=None, pattern=E164)
    variables: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    webhook_url: str | None = None


class OutcomeUpdate(BaseModel):
    """``PATCH /v1/calls/{id}``."""

    outcome: str = Field(min_length=1, max_length=100)


class WebhookFields(BaseModel):
    """``PATCH /v1/webhooks/{id}``."""

    name: str | None = Field(default=None, min_length=1)
    url: HttpUrl | None = None
    events: list[str] | None = Field(default=None, min_length=1)

    @field_validator("events")
    @classmethod
    def _known_events(cls, value: list[str] | None) -> list[str] | None:
        unknown = sorted(set(value or []) - EVENTS)
        if unknown:
            raise ValueError(f"unknown events {unknown}; allowed: {sorted(EVENTS)}")
        return value


class WebhookCreate(WebhookFields):
    """``POST /v1/webhooks``."""

    name: str = Field(min_length=1)
    url: HttpUrl
    events: list[str] = Field(min_length=1)


def server_url_for(request: Request, public_url: str | None) -> str:
    """``ws://host:port[/mount]`` of this simulator as the request reached it."""
    if public_url:
        base = public_url.rstrip("/")
    else:
        root = str(request.scope.get("root_path", "")).rstrip("/")
        base = str(request.url.replace(path=root, query="", fragment="")).rstrip("/")
    if base.startswith("https://"):
        return "wss://" + base[len("https://") :]
    if base.startswith("http://"):
        return "ws://" + base[len("http://") :]
    return base


def http_base_for(request: Request, public_url: str | None) -> str:
    """``http://host:port[/mount]`` of this simulator, where browsers fetch recordings."""
    base = server_url_for(request, public_url)
    if base.startswith("wss://"):
        return "https://" + base[len("wss://") :]
    if base.startswith("ws://"):
        return "http://" + base[len("ws://") :]
    return base


def v1_routes(state: SimulatorState) -> list[Route]:
    """Every ``/v1`` route, bound to ``state``."""

    def agent_of(request: Request) -> dict[str, Any]:
        agent = state.agents.get(request.path_params["id"])
        if agent is None:
            raise not_found("Agent")
        return agent

    def model_of(request: Request) -> dict[str, Any]:
        model = state.models.get(request.path_params["id"])
        if model is None:
            raise not_found("Model")
        return model

    def call_of(request: Request) -> Any:
        call = state.calls.get(request.path_params["id"])
        if call is None:
            raise not_found("Call")
        return call

    def hook_of(request: Request) -> WebhookRecord:
        hook = state.webhooks.get(request.path_params["id"])
        if hook is None:
            raise not_found("Webhook")
        return hook

    async def create_agent(request: Request) -> Response:
        body = await read_model(request, AgentCreate)
        agent = state.create_agent(body.model_dump(exclude_unset=True))
        return JSONResponse(agent, status_code=201)

    async def get_agent(request: Request) -> Response:
        return JSONResponse(agent_of(request))

    async def update_agent(request: Request) -> Response:
        agent = agent_of(request)
        body = await read_model(request, AgentFields)
        changes = body.model_dump(exclude_unset=True)
        changes.pop("id", None)
        changes.pop("llm_id", None)
        agent.update(changes)
        return JSONResponse(agent)

    async def get_model(request: Request) -> Response:
        return JSONResponse(model_of(request))

    async def update_model(request: Request) -> Response:
        model = model_of(request)
        body = await read_model(request, ModelFields)
        changes = body.model_dump(exclude_unset=True)
        changes.pop("id", None)
        model.update(changes)
        return JSONResponse(model)

    async def start_web_call(request: Request) -> Response:
        body = await read_model(request, WebCallCreate)
        if body.agent_id not in state.agents:
            raise not_found("Agent")
        server_url = server_url_for(request, state.config.public_url)
        call = state.create_call(
            body.agent_id,
            server_url=server_url,
            variables=body.variables or {},
            metadata=body.metadata or {},
            overrides=body.overrides or {},
        )
        answer = {
            "id": call.id,
            "agent_id": call.agent_id,
            "type": "web",
            "status": call.status,
            "room_name": call.room_name,
            "server_url": call.server_url,
            "participant_token": call.participant_token,
            "created_at": iso(call.created_at),
        }
        return JSONResponse(answer, status_code=201)

    def record_of(request: Request, call: Any) -> dict[str, Any]:
        base = http_base_for(request, state.config.public_url)
        return dict(call.with_recording(base, state.config.recording_url_ttl_seconds))

    async def start_phone_call(request: Request) -> Response:
        body = await read_model(request, PhoneCallCreate)
        if body.agent_id not in state.agents:
            raise not_found("Agent")
        call = state.create_phone_call(
            body.agent_id,
            to_number=body.to_number,
            from_number=body.from_number,
            variables=body.variables or {},
            metadata=body.metadata or {},
        )
        return JSONResponse(call.public(), status_code=201)

    async def get_call(request: Request) -> Response:
        return JSONResponse(record_of(request, call_of(request)))

    async def stop_call(request: Request) -> Response:
        call = call_of(request)
        state.end_call(call, end_reason="api_stop")
        return JSONResponse({"id": call.id, "status": call.status})

    async def update_call(request: Request) -> Response:
        call = call_of(request)
        body = await read_model(request, OutcomeUpdate)
        state.set_outcome(call, body.outcome)
        return JSONResponse(record_of(request, call))

    async def list_calls(request: Request) -> Response:
        limit = _int_param(request, "limit", 20, low=1, high=100)
        offset = _int_param(request, "offset", 0, low=0, high=None)
        agent_id = request.query_params.get("agent_id")
        status = request.query_params.get("status")
        matching = [
            call
            for call in reversed(state.calls.values())
            if (agent_id is None or call.agent_id == agent_id)
            and (status is None or call.status == status)
        ]
        page = [record_of(request, call) for call in matching[offset : offset + limit]]
        return JSONResponse(
            {"items": page, "total": len(matching), "limit": limit, "offset": offset}
        )

    async def create_webhook(request: Request) -> Response:
        body = await read_model(request, WebhookCreate)
        hook = WebhookRecord(
            id=new_id("wh"),
            name=body.name,
            url=str(body.url),
            events=list(body.events),
            secret="whsec_" + base64.b64encode(secrets.token_bytes(24)).decode(),
            created_at=iso(time.time()) or "",
        )
        state.webhooks[hook.id] = hook
        return JSONResponse(hook.public(with_secret=True), status_code=201)

    async def list_webhooks(request: Request) -> Response:
        return JSONResponse([hook.public() for hook in state.webhooks.values()])

    async def update_webhook(request: Request) -> Response:
        hook = hook_of(request)
        body = await read_model(request, WebhookFields)
        if body.name is not None:
            hook.name = body.name
        if body.url is not None:
            hook.url = str(body.url)
        if body.events is not None:
            hook.events = list(body.events)
        return JSONResponse(hook.public())

    async def delete_webhook(request: Request) -> Response:
        hook = hook_of(request)
        del state.webhooks[hook.id]
        return Response(status_code=204)

    async def webhook_deliveries(request: Request) -> Response:
        return JSONResponse(list(hook_of(request).deliveries))

    table: list[tuple[str, str, Any]] = [
        ("POST", "/agents", create_agent),
        ("GET", "/agents/{id}", get_agent),
        ("PATCH", "/agents/{id}", update_agent),
        ("GET", "/models/{id}", get_model),
        ("PATCH", "/models/{id}", update_model),
        ("POST", "/calls/web", start_web_call),
        ("POST", "/calls", start_phone_call),
        ("GET", "/calls", list_calls),
        ("GET", "/calls/{id}", get_call),
        ("PATCH", "/calls/{id}", update_call),
        ("POST", "/calls/{id}/stop", stop_call),
        ("POST", "/webhooks", create_webhook),
        ("GET", "/webhooks", list_webhooks),
        ("PATCH", "/webhooks/{id}", update_webhook),
        ("DELETE", "/webhooks/{id}", delete_webhook),
        ("GET", "/webhooks/{id}/deliveries", webhook_deliveries),
    ]
    return [v1_route(state, method, path, handler) for method, path, handler in table]


def _int_param(request: Request, name: str, default: int, *, low: int, high: int | None) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ApiError(
            422,
            [
                {
                    "type": "value_error",
                    "loc": ["query", name],
                    "msg": f"must be an integer {bounds}",
                }
            ],
        )
    return value
