"""Dashboard form posts: size-limited, url-encoded only, CSRF-checked."""

from __future__ import annotations

from urllib.parse import parse_qs

from starlette.requests import Request

from gateway.dashboard.session import DashboardSession, csrf_matches
from gateway.http.body import read_body
from gateway.http.errors import HTTPProblem

FORM_LIMIT = 64 * 1024  # a dashboard form is a few fields; 1 MiB is the gateway-wide cap


async def read_form(request: Request) -> dict[str, str]:
    """The first value of each field; 413 over the limit, 415 for anything but a form."""
    raw = await read_body(request)
    if len(raw) > FORM_LIMIT:
        raise HTTPProblem(413, "body_too_large", f"form over {FORM_LIMIT} bytes")
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise HTTPProblem(415, "unsupported_media_type", "send an HTML form")
    try:
        fields = parse_qs(raw.decode("utf-8"), keep_blank_values=True, max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        raise HTTPProblem(400, "malformed_form", "the form could not be read") from None
    return {name: values[0] for name, values in fields.items()}


def require_csrf(session: DashboardSession, form: dict[str, str]) -> None:
    """403 unless the form carries this session's CSRF token."""
    if not csrf_matches(session, form.get("csrf")):
        raise HTTPProblem(403, "csrf_failed", "the form is stale or came from another site")
