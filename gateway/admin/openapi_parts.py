"""The building blocks of `/openapi.json`: error answers, parameters, and the webhooks the
gateway sends (a callback's result and test event, signed per Standard Webhooks)."""

from __future__ import annotations

from typing import Any

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


def schema_ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def json_content(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def json_answer(status: int, description: str, model: str) -> dict[str, Any]:
    return {str(status): {"description": description, **json_content(schema_ref(model))}}


def error_answers(*statuses: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for status in sorted({*statuses, *ALWAYS}):
        out.update(json_answer(status, ERRORS[status], "ErrorBody"))
    return out


def path_param(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string", "minLength": 1, "maxLength": 64},
    }


def query_param(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


PAGING = [
    query_param("limit", {"type": "integer", "minimum": 1, "maximum": 200}, "page size (50)"),
    query_param("offset", {"type": "integer", "minimum": 0, "maximum": 1000000}, "rows to skip"),
]
ADMIN: list[dict[str, list[str]]] = [{"adminToken": []}]


def started_with_links() -> dict[str, Any]:
    """201 for a started call, linked to the operations that take its id."""
    answer = json_answer(201, "Started; share join_url with the participant", "StartedCallBody")
    call_id = {"call_id": "$response.body#/call_id"}
    answer["201"]["links"] = {
        "GetCall": {"operationId": "getCall", "parameters": call_id},
        "StopCall": {"operationId": "stopCall", "parameters": call_id},
    }
    return answer


def signed_header(name: str, description: str, example: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "header",
        "required": True,
        "description": description,
        "schema": {"type": "string"},
        "example": example,
    }


def webhook(summary: str, description: str, body: str) -> dict[str, Any]:
    return {
        "post": {
            "summary": summary,
            "description": description,
            "parameters": [
                signed_header("webhook-id", "Stable across retries: deduplicate on it", "msg_…"),
                signed_header("webhook-timestamp", "Unix seconds of this try", "1767225600"),
                signed_header(
                    "webhook-signature",
                    "v1,<base64 HMAC-SHA256 of '{id}.{timestamp}.{body}'>; several "
                    "separated by spaces while a secret is rotated",
                    "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=",
                ),
            ],
            "requestBody": {"required": True, **json_content(schema_ref(body))},
            "responses": {
                "2XX": {"description": "Received (also for a webhook-id already seen)"},
                "410": {"description": "Gone: the gateway stops delivering here"},
                "default": {"description": "Anything else is retried (Retry-After honoured)"},
            },
        }
    }


def webhooks() -> dict[str, Any]:
    """What the gateway POSTs to a `callback` destination (Standard Webhooks)."""
    return {
        "callResult": webhook(
            "A call's result, signed (Standard Webhooks)",
            "Sent once per call and destination, retried on a schedule with the same "
            "webhook-id and body until a 2xx. Verify the signature over the raw body with a "
            "Standard Webhooks library and the destination's whsec_ secret, then deduplicate "
            "on webhook-id.",
            "CallbackEvent",
        ),
        "testEvent": webhook(
            "A test event (Send a test event), signed like a result",
            "Sent once, when an operator asks (dashboard, CLI, admin API), never retried; "
            "no call is behind it. Verify it like a result and answer 2xx.",
            "TestEvent",
        ),
    }
