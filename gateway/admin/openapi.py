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
ERRORS = {
    400: "Malformed JSON or query",
    401: "Missing or wrong bearer token",
    404: "Unknown id, or the admin API is off (no ADMIN_TOKEN)",
    409: "The delivery already reached its destination",
    413: "Body over 1 MiB",
    415: "Body is not application/json",
    422: "A field is missing or wrong",
    429: "Too many requests, or too many wrong tokens from this address (Retry-After)",
    431: "Request headers over 32 KiB (or one over 8 KiB)",
    502: "OneInbox failed or refused",
    503: "The store cannot write, or OneInbox asks to wait longer than the request may",
}
# Any route may answer these: the lock-out after wrong tokens, the header limit, a full store.
ALWAYS = (429, 431, 503)


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json_content(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _answer(status: int, description: str, model: str) -> dict[str, Any]:
    return {str(status): {"description": description, **_json_content(_ref(model))}}


def _errors(*statuses: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for status in sorted({*statuses, *ALWAYS}):
        out.update(_answer(status, ERRORS[status], "ErrorBody"))
    return out


def _path_param(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string", "minLength": 1, "maxLength": 64},
    }


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


PAGING = [
    _query("limit", {"type": "integer", "minimum": 1, "maximum": 200}, "page size (50)"),
    _query("offset", {"type": "integer", "minimum": 0, "maximum": 1000000}, "rows to skip"),
]
ADMIN: list[dict[str, list[str]]] = [{"adminToken": []}]


def _started_with_links() -> dict[str, Any]:
    """201 for a started call, linked to the operations that take its id."""
    answer = _answer(201, "Started; share join_url with the participant", "StartedCallBody")
    call_id = {"call_id": "$response.body#/call_id"}
    answer["201"]["links"] = {
        "GetCall": {"operationId": "getCall", "parameters": call_id},
        "StopCall": {"operationId": "stopCall", "parameters": call_id},
    }
    return answer


def _admin_paths() -> dict[str, Any]:
    call_id = _path_param("call_id", "the OneInbox call id")
    return {
        "/api/calls": {
            "get": {
                "summary": "Recent calls, newest first",
                "operationId": "listCalls",
                "security": ADMIN,
                "parameters": [
                    _query(
                        "state",
                        {"type": "string", "enum": [str(s) for s in CallState]},
                        "only calls in this state",
                    ),
                    *PAGING,
                ],
                "responses": {
                    **_answer(200, "A page of calls", "CallPage"),
                    **_errors(400, 401, 404),
                },
            },
            "post": {
                "summary": "Start a web call; the result goes to the optional callback",
                "operationId": "startCall",
                "security": ADMIN,
                "requestBody": {"required": True, **_json_content(_ref("StartCallRequest"))},
                "responses": {
                    **_started_with_links(),
                    **_errors(400, 401, 404, 413, 415, 422, 502),
                },
            },
        },
        "/api/calls/{call_id}": {
            "get": {
                "summary": "A call with its timeline, transcript and deliveries",
                "operationId": "getCall",
                "security": ADMIN,
                "parameters": [call_id],
                "responses": {**_answer(200, "The call", "CallDetail"), **_errors(401, 404)},
            }
        },
        "/api/calls/{call_id}/stop": {
            "post": {
                "summary": "Ask OneInbox to end the call",
                "operationId": "stopCall",
                "security": ADMIN,
                "parameters": [call_id],
                "responses": {
                    **_answer(202, "Stop requested", "StopAccepted"),
                    **_errors(401, 404, 422, 502),
                },
            }
        },
        "/api/deliveries": {
            "get": {
                "summary": "Deliveries (results sent to destinations), newest first",
                "operationId": "listDeliveries",
                "security": ADMIN,
                "parameters": [
                    _query("state", {"type": "string", "maxLength": 16}, "only this state"),
                    _query("failed", {"type": "boolean"}, "only deliveries the outbox gave up"),
                    *PAGING,
                ],
                "responses": {
                    **_answer(200, "A page of deliveries", "DeliveryPage"),
                    **_errors(400, 401, 404),
                },
            }
        },
        "/api/deliveries/{delivery_id}/replay": {
            "post": {
                "summary": "Send a delivery again now, with the same id",
                "operationId": "replayDelivery",
                "security": ADMIN,
                "parameters": [_path_param("delivery_id", "the delivery (webhook) id")],
                "responses": {
                    **_answer(202, "Queued again", "ReplayAccepted"),
                    **_errors(401, 404, 409),
                },
            }
        },
        **_destination_paths(),
    }


def _destination_paths() -> dict[str, Any]:
    dst = _path_param("destination_id", "the destination id (dst_…)")
    sent = _answer(200, "The receiver's answer (ok false: it refused or failed)", "SentTestEvent")

    def post(summary: str, op: str, answer: dict[str, Any], *errors: int) -> dict[str, Any]:
        return {
            "post": {
                "summary": summary,
                "operationId": op,
                "security": ADMIN,
                "parameters": [dst],
                "responses": {**answer, **_errors(*errors)},
            }
        }

    return {
        "/api/destinations": {
            "get": {
                "summary": "Where results go, with their health (disabled, failing, ok)",
                "operationId": "listDestinations",
                "security": ADMIN,
                "responses": {
                    **_answer(200, "Every destination", "DestinationPage"),
                    **_errors(401, 404),
                },
            }
        },
        "/api/destinations/test": {
            "post": {
                "summary": "Send a signed webhook.test event to a callback URL",
                "operationId": "sendTestEvent",
                "security": ADMIN,
                "requestBody": {"required": True, **_json_content(_ref("SendTestEventRequest"))},
                "responses": {**sent, **_errors(400, 401, 404, 413, 415, 422)},
            }
        },
        "/api/destinations/{destination_id}/enable": post(
            "Enable a disabled destination: its held deliveries are due now",
            "enableDestination",
            _answer(200, "Enabled (or it was not disabled)", "EnableAccepted"),
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
                "requestBody": {"required": True, **_json_content({"type": "object"})},
                "responses": {
                    "202": {"description": "Accepted", **_json_content(started)},
                    **_errors(400, 401, 404, 409, 413, 415, 422, 429, 502),
                },
            }
        },
        "/webhooks/oneinbox": {
            "post": {
                "summary": "OneInbox call events: a hint to re-read the call",
                "operationId": "oneinboxWebhook",
                "requestBody": {"required": True, **_json_content({"type": "object"})},
                "responses": {
                    "200": {"description": "Noted"},
                    "202": {"description": "Noted"},
                    **_errors(400, 401, 413),
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
                "responses": {"200": {"description": "Alive", **_json_content(plain)}},
            }
        },
        "/readyz": {
            "get": {
                "summary": "The store is reachable",
                "operationId": "readyz",
                "responses": {
                    "200": {"description": "Ready", **_json_content(plain)},
                    "503": {"description": "Not ready", **_json_content(plain)},
                },
            }
        },
        "/status/{call_id}/{signature}": {
            "get": {
                "summary": "A call's progress and outcome (the hook answer's status_url)",
                "description": "Signed per call: no token needed. Never the transcript.",
                "operationId": "callStatus",
                "parameters": [
                    _path_param("call_id", "The call's id"),
                    _path_param("signature", "The link's signature"),
                ],
                "responses": {
                    "200": {"description": "The call", **_json_content(plain)},
                    "404": {"description": "Unknown call or signature", **_json_content(plain)},
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


def _header(name: str, description: str, example: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "header",
        "required": True,
        "description": description,
        "schema": {"type": "string"},
        "example": example,
    }


def _webhook(summary: str, description: str, body: str) -> dict[str, Any]:
    return {
        "post": {
            "summary": summary,
            "description": description,
            "parameters": [
                _header("webhook-id", "Stable across retries: deduplicate on it", "msg_…"),
                _header("webhook-timestamp", "Unix seconds of this try", "1767225600"),
                _header(
                    "webhook-signature",
                    "v1,<base64 HMAC-SHA256 of '{id}.{timestamp}.{body}'>; several "
                    "separated by spaces while a secret is rotated",
                    "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=",
                ),
            ],
            "requestBody": {"required": True, **_json_content(_ref(body))},
            "responses": {
                "2XX": {"description": "Received (also for a webhook-id already seen)"},
                "410": {"description": "Gone: the gateway stops delivering here"},
                "default": {"description": "Anything else is retried (Retry-After honoured)"},
            },
        }
    }


def _webhooks() -> dict[str, Any]:
    """What the gateway POSTs to a `callback` destination (Standard Webhooks)."""
    return {
        "callResult": _webhook(
            "A call's result, signed (Standard Webhooks)",
            "Sent once per call and destination, retried on a schedule with the same "
            "webhook-id and body until a 2xx. Verify the signature over the raw body with a "
            "Standard Webhooks library and the destination's whsec_ secret, then deduplicate "
            "on webhook-id.",
            "CallbackEvent",
        ),
        "testEvent": _webhook(
            "A test event (Send a test event), signed like a result",
            "Sent once, when an operator asks (dashboard, CLI, admin API), never retried; "
            "no call is behind it. Verify it like a result and answer 2xx.",
            "TestEvent",
        ),
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
        "webhooks": _webhooks(),
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
