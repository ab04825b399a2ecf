"""Reading request bodies with a size limit, before anything else looks at them."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from gateway.http.errors import HTTPProblem

MAX_BODY_BYTES = 1024 * 1024  # 1 MiB


async def read_body(request: Request, *, limit: int = MAX_BODY_BYTES) -> bytes:
    """The raw body, or 413 as soon as it is known to be over `limit`."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPProblem(413, "body_too_large", f"request body over {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPProblem(413, "body_too_large", f"request body over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def require_json_type(request: Request) -> None:
    """415 unless the body says it is JSON."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise HTTPProblem(415, "unsupported_media_type", "send the body as application/json")


def parse_json(raw: bytes) -> Any:
    """The decoded JSON, or 400 with where it broke."""
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise HTTPProblem(400, "malformed_json", f"the body is not valid JSON: {exc}") from None
