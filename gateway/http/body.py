"""The one body reader of every route: a size limit, then strict JSON, before anything else.

Strict means what every consumer downstream (pydantic, the store, `json.dumps`, OneInbox)
can take without surprise: UTF-8 only, no `NaN`/`Infinity` (nor numbers that overflow to
them, like `1e400`), integers of at most `MAX_INT_DIGITS` digits, nesting at most
`MAX_DEPTH` deep, and no lone UTF-16 surrogates (`"\\ud800"`). Each refusal is a 400 with a
code of its own; the body over the limit is a 413 and a wrong media type a 415.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, NoReturn

from starlette.requests import Request

from gateway.http.errors import HTTPProblem

MAX_BODY_BYTES = 1024 * 1024  # 1 MiB
MAX_DEPTH = 64  # no payload the gateway takes is more than a dozen levels deep
MAX_INT_DIGITS = 40  # wider than any 128-bit id; far below Python's 4,300-digit int limit
CONTENT_LENGTH = re.compile(r"[0-9]{1,19}")


async def read_body(request: Request, *, limit: int = MAX_BODY_BYTES) -> bytes:
    """The raw body, or 413 as soon as it is known to be over `limit`."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not CONTENT_LENGTH.fullmatch(declared.strip()):
            raise HTTPProblem(400, "invalid_content_length", "Content-Length is not a number")
        if int(declared) > limit:
            _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> NoReturn:
    raise HTTPProblem(413, "body_too_large", f"request body over {limit} bytes")


def require_json_type(request: Request) -> None:
    """415 unless the body says it is JSON."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise HTTPProblem(415, "unsupported_media_type", "send the body as application/json")


async def read_json(request: Request, *, limit: int = MAX_BODY_BYTES, empty: Any = ...) -> Any:
    """Size limit, media type, strict parse: the JSON body of `request`.

    `empty`, when given, is what an empty body stands for (else an empty body is a 400).
    """
    raw = await read_body(request, limit=limit)
    require_json_type(request)
    if empty is not ... and not raw.strip():
        return empty
    return parse_json(raw)


def parse_json(raw: bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """The decoded JSON, or a 400 saying what is wrong with it (see the module docstring)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise HTTPProblem(400, "invalid_encoding", "the body is not valid UTF-8") from None
    try:
        value = json.loads(text, parse_constant=_no_constant, parse_float=_finite, parse_int=_int)
    except json.JSONDecodeError as exc:
        raise HTTPProblem(400, "malformed_json", f"the body is not valid JSON: {exc}") from None
    except RecursionError:  # the C decoder's own guard, around a thousand levels
        _too_deep(max_depth)
    check_document(value, max_depth=max_depth)
    return value


def check_document(value: Any, *, max_depth: int = MAX_DEPTH) -> None:
    """400 when a parsed document nests deeper than `max_depth` or holds a lone surrogate.

    Walked with an explicit stack, never by recursion, so no document can exhaust the stack.
    """
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if _has_surrogate(item):
                raise HTTPProblem(
                    400, "malformed_json", "the body holds an unpaired UTF-16 surrogate escape"
                )
        elif isinstance(item, dict | list):
            if depth >= max_depth:
                _too_deep(max_depth)
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)


def _too_deep(max_depth: int) -> NoReturn:
    raise HTTPProblem(400, "json_too_deep", f"the body nests deeper than {max_depth} levels")


def _no_constant(name: str) -> NoReturn:
    raise HTTPProblem(400, "malformed_json", f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise HTTPProblem(400, "number_out_of_range", f"the number {text[:40]} is out of range")
    return value


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise HTTPProblem(
            400, "number_out_of_range", f"integers may have at most {MAX_INT_DIGITS} digits"
        )
    return int(text)


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
