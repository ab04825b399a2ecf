"""`GET /openapi.json`: OpenAPI 3.1 for the hooks, the admin API and the operations routes.

Bodies come from the pydantic models' JSON schemas, so the description cannot drift from
what the handlers validate and answer.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gateway.admin.models import (
    CallDetail,
    CallPage,
    DeliveryPage,
    DestinationPage,
    EnableAccepted,
    ErrorBody,
    ReplayAccepted,
    SendTestEventRequest,
    SentTestEvent,
    StartCallRequest,
    StartedCallBody,
    StopAccepted,
)
from gateway.admin.openapi_parts import (
    ADMIN,
    PAGING,
    error_answers,
    json_answer,
    json_content,
    path_param,
    query_param,
    schema_ref,
    started_with_links,
    webhooks,
)
from gateway.calls.states import CallState
from gateway.context import AppContext
from gateway.delivery.callback import CallbackEvent
from gateway.delivery.probe import TestEvent

MODELS: list[type[BaseModel]] = [
    CallbackEvent,
    TestEvent,
    CallDetail,
    CallPage,
    DeliveryPage,
    DestinationPage,
    EnableAccepted,
    ErrorBody,
    ReplayAccepted,
    SendTestEventRequest,
    SentTestEvent,
    StartCallRequest,
    StartedCallBody,
    StopAccepted,
]
REQUESTS: tuple[type[BaseModel], ...] = (StartCallRequest, SendTestEventRequest)


def _admin_paths() -> dict[str, Any]:
    call_id = path_param("call_id", "the OneInbox call id")
    return {
        "/api/calls": {
            "get": {
                "summary": "Recent calls, newest first",
                "operationId": "listCalls",
                "security": ADMIN,
                "parameters": [
                    query_param(
                        "state",
                        {"type": "string", "enum": [str(s) for s in CallState]},
                        "only calls in this state",
                    ),
                    *PAGING,
                ],
                "responses": {
                    **json_answer(200, "A page of calls", "CallPage"),
                    **error_answers(400, 401, 404),
                },
            },
            "post": {
                "summary": "Start a web call; the result goes to the optional callback",
                "operationId": "startCall",
                "security": ADMIN,
                "requestBody": {"required": True, **json_content(schema_ref("StartCallRequest"))},
                "responses": {
                    **started_with_links(),
                    **error_answers(400, 401, 404, 413, 415, 422, 502),
                },
            },
        },
        "/api/calls/{call_id}": {
            "get": {
                "summary": "A call with its timeline, transcript and deliveries",
                "operationId": "getCall",
                "security": ADMIN,
                "parameters": [call_id],
                "responses": {
                    **json_answer(200, "The call", "CallDetail"),
                    **error_answers(401, 404),
                },
            }
        },
        "/api/calls/{call_id}/stop": {
            "post": {
                "summary": "Ask OneInbox to end the call",
                "operationId": "stopCall",
                "security": ADMIN,
                "parameters": [call_id],
                "responses": {
                    **json_answer(202, "Stop requested", "StopAccepted"),
                    **error_answers(401, 404, 422, 502),
                },
            }
        },
        "/api/deliveries": {
            "get": {
                "summary": "Deliveries (results sent to destinations), newest first",
                "operationId": "listDeliveries",
                "security": ADMIN,
                "parameters": [
                    query_param("state", {"type": "string", "maxLength": 16}, "only this state"),
                    query_param(
                        "failed", {"type": "boolean"}, "only deliveries the outbox gave up"
                    ),
                    *PAGING,
                ],
                "responses": {
                    **json_answer(200, "A page of deliveries", "DeliveryPage"),
                    **error_answers(400, 401, 404),
                },
            }
        },
        "/api/deliveries/{delivery_id}/replay": {
            "post": {
                "summary": "Send a delivery again now, with the same id",
                "operationId": "replayDelivery",
                "security": ADMIN,
                "parameters": [path_param("delivery_id", "the delivery (webhook) id")],
                "responses": {
                    **json_answer(202, "Queued again", "ReplayAccepted"),
                    **error_answers(401, 404, 409),
                },
            }
        },
        **_destination_paths(),
    }


def _destination_paths() -> dict[str, Any]:
    dst = path_param("destination_id", "the destination id (dst_…)")
    sent = json_answer(
        200, "The receiver's answer (ok false: it refused or failed)", "SentTestEvent"
    )

    def post(summary: str, op: str, answer: dict[str, Any], *errors: int) -> dict[str, Any]:
        return {
            "post": {
                "summary": summary,
                "operationId": op,
                "security": ADMIN,
                "parameters": [dst],
                "responses": {**answer, **error_answers(*errors)},
            }
        }

    return {
        "/api/destinations": {
            "get": {
                "summary": "Where results go, with their health (disabled, failing, ok)",
                "operationId": "listDestinations",
                "security": ADMIN,
                "responses": {
                    **json_answer(200, "Every destination", "DestinationPage"),
                    **error_answers(401, 404),
                },
            }
        },
        "/api/destinations/test": {
            "post": {
                "summary": "Send a signed webhook.test event to a callback URL",
                "operationId": "sendTestEvent",
                "security": ADMIN,
                "requestBody": {
                    "required": True,
                    **json_content(schema_ref("SendTestEventRequest")),
                },
                "responses": {**sent, **error_answers(400, 401, 404, 413, 415, 422)},
            }
        },
        "/api/destinations/{destination_id}/enable": post(
            "Enable a disabled destination: its held deliveries are due now",
            "enableDestination",
            json_answer(200, "Enabled (or it was not disabled)", "EnableAccepted"),
            401,
            404,
        ),
        "/api/destinations/{destination_id}/test": post(
            "Send a signed webhook.test event to a callback destination",
            "testDestination",
            sent,
            401,
            404,
            422,
        ),
    }


def _hook_paths(hook_names: list[str]) -> dict[str, Any]:
    name: dict[str, Any] = {"type": "string"}
    if hook_names:
        name["enum"] = hook_names
    started = {
        "type": "object",
        "properties": {
            "call_id": {"type": "string"},
            "join_url": {"type": "string"},
            "status": {"const": "started"},
            "status_url": {"type": "string"},
            "to_number": {
                "type": "string",
                "description": "start_phone_call: the number being dialled (E.164)",
            },
            "agent_id": {"type": "string"},
            "llm_id": {"type": ["string", "null"]},
        },
    }
    return {
        "/hooks/{name}": {
            "post": {
                "summary": "A configured inbound hook (CRM or anything that POSTs JSON)",
                "description": "Authenticated per hook ([hooks.NAME] in GATEWAY_CONFIG). "
                "start_web_call answers call_id, join_url, status, status_url; "
                "start_phone_call answers call_id, status, status_url, to_number (no join link; "
                "422 invalid_phone_number for a number that cannot be dialled); "
                "create_agent answers agent_id, llm_id.",
                "operationId": "runHook",
                "parameters": [{"name": "name", "in": "path", "required": True, "schema": name}],
                "requestBody": {"required": True, **json_content({"type": "object"})},
                "responses": {
                    "202": {"description": "Accepted", **json_content(started)},
                    **error_answers(400, 401, 404, 409, 413, 415, 422, 429, 502),
                },
            }
        },
        "/webhooks/oneinbox": {
            "post": {
                "summary": "OneInbox call events: a hint to re-read the call",
                "operationId": "oneinboxWebhook",
                "requestBody": {"required": True, **json_content({"type": "object"})},
                "responses": {
                    "200": {"description": "Noted"},
                    "202": {"description": "Noted"},
                    **error_answers(400, 401, 413),
                },
            }
        },
    }


def _operations_paths() -> dict[str, Any]:
    plain = {"type": "object", "additionalProperties": True}
    return {
        "/healthz": {
            "get": {
                "summary": "The process is alive",
                "operationId": "healthz",
                "responses": {"200": {"description": "Alive", **json_content(plain)}},
            }
        },
        "/readyz": {
            "get": {
                "summary": "The store is reachable",
                "operationId": "readyz",
                "responses": {
                    "200": {"description": "Ready", **json_content(plain)},
                    "503": {"description": "Not ready", **json_content(plain)},
                },
            }
        },
        "/status/{call_id}/{signature}": {
            "get": {
                "summary": "A call's progress and outcome (the hook answer's status_url)",
                "description": "Signed per call: no token needed. Never the transcript.",
                "operationId": "callStatus",
                "parameters": [
                    path_param("call_id", "The call's id"),
                    path_param("signature", "The link's signature"),
                ],
                "responses": {
                    "200": {"description": "The call", **json_content(plain)},
                    "404": {"description": "Unknown call or signature", **json_content(plain)},
                },
            }
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics",
                "operationId": "metrics",
                "responses": {
                    "200": {
                        "description": "Text exposition format",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
    }


def _version() -> str:
    try:
        return version("oneinbox-gateway")
    except PackageNotFoundError:
        return "0.0.0"


def build_spec(hook_names: list[str]) -> dict[str, Any]:
    """The whole OpenAPI 3.1 document."""
    _, schemas = models_json_schema(
        [(model, "serialization") for model in MODELS if model not in REQUESTS]
        + [(model, "validation") for model in REQUESTS],
        ref_template="#/components/schemas/{model}",
    )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "OneInbox Gateway",
            "version": _version(),
            "description": "Hooks that start OneInbox voice calls, and the admin API "
            "(bearer ADMIN_TOKEN) to follow calls and replay deliveries.",
        },
        "paths": {**_admin_paths(), **_hook_paths(hook_names), **_operations_paths()},
        "webhooks": webhooks(),
        "components": {
            "schemas": schemas.get("$defs", {}),
            "securitySchemes": {"adminToken": {"type": "http", "scheme": "bearer"}},
        },
    }


def openapi_routes(ctx: AppContext) -> list[Route]:
    """`GET /openapi.json`, built once per app (hook names come from the config)."""
    spec = build_spec(sorted(ctx.config.table("hooks")))

    async def serve_spec(request: Request) -> JSONResponse:
        return JSONResponse(spec)

    return [Route("/openapi.json", serve_spec, methods=["GET"])]
