"""`GET /recordings/{token}`: check the link, read the call upstream, redirect to a fresh URL.

Each use reads the call with `GET /v1/calls/{id}` for a freshly signed `recording_url`, so a
link in a Slack thread or a CRM record opens long after OneInbox's own URL expired. Expired,
forged or useless links get a short page that says what is wrong (never a stack trace, never
an upstream URL). Each client address gets a small budget, since every use costs an
upstream request.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import structlog
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from gateway.http.retry_after import retry_after_header
from gateway.limits.buckets import Budget, RateLimiter
from gateway.oneinbox.client import OneInboxClient
from gateway.oneinbox.errors import NotFoundError, OneInboxError
from gateway.recordings.links import BadRecordingLink, ExpiredRecordingLink, RecordingLinks
from gateway.store.calls import CallRepository
from gateway.store.database import Database

log = structlog.get_logger(__name__)

HERE = Path(__file__).parent
PER_ADDRESS = Budget(requests=30, seconds=60)
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
}
PAGES: dict[str, tuple[int, str, str, str]] = {
    "invalid_link": (
        404,
        "This recording link is not valid",
        "The address is incomplete or was changed, so it does not lead to any recording.",
        "Copy the whole link again from the message it came in.",
    ),
    "expired_link": (
        410,
        "This recording link has expired",
        "Recording links stay valid for a limited time, and this one's time is over.",
        "Ask whoever shared it for a new link, or open the call in the gateway's dashboard.",
    ),
    "unknown_call": (
        404,
        "This recording is not available",
        "The call behind this link is not known here any more.",
        "Ask whoever shared it whether the call still exists.",
    ),
    "no_recording": (
        404,
        "There is no recording for this call",
        "The call was not recorded, or OneInbox has not finished the recording yet.",
        "If the call ended a moment ago, try again in a minute.",
    ),
    "upstream_unavailable": (
        502,
        "The recording cannot be reached right now",
        "OneInbox did not answer as expected.",
        "Try again in a minute.",
    ),
    "too_many_requests": (
        429,
        "Too many requests",
        "This address opened recordings too often in a short time.",
        "Wait a minute, then try again.",
    ),
}


def recording_routes(
    links: RecordingLinks, client: OneInboxClient, db: Database, *, local_mode: bool
) -> list[Route]:
    """The one route, bound to the links' key, the upstream client and the store."""
    templates = Jinja2Templates(directory=HERE / "templates")
    limiter = RateLimiter(PER_ADDRESS)

    def page(request: Request, code: str, headers: dict[str, str] | None = None) -> Response:
        status, title, message, advice = PAGES[code]
        context = {"code": code, "title": title, "message": message, "advice": advice}
        return templates.TemplateResponse(
            request,
            "recording.html",
            context,
            status_code=status,
            headers={**HEADERS, **(headers or {})},
        )

    async def open_recording(request: Request) -> Response:
        address = request.client.host if request.client is not None else "unknown"
        wait = limiter.take(address)
        if wait > 0:
            return page(request, "too_many_requests", {"Retry-After": retry_after_header(wait)})
        try:
            call_id = links.read(request.path_params["token"])
        except BadRecordingLink:
            return page(request, "invalid_link")
        except ExpiredRecordingLink:
            return page(request, "expired_link")
        async with db.session() as session:
            known = await CallRepository(session).get(call_id) is not None
        if not known:
            return page(request, "unknown_call")
        try:
            call = await client.get_call(call_id)
        except NotFoundError:
            return page(request, "unknown_call")
        except OneInboxError as exc:
            log.warning("recording.upstream_failed", call_id=call_id, error=str(exc))
            return page(request, "upstream_unavailable")
        url = call.recording_url
        if not url or not _usable(url, local_mode=local_mode):
            return page(request, "no_recording")
        log.info("recording.opened", call_id=call_id)
        return RedirectResponse(url, status_code=302, headers=HEADERS)

    return [Route(links_path(), open_recording, methods=["GET"])]


def links_path() -> str:
    """The route's path pattern."""
    return "/recordings/{token}"


def _usable(url: str, *, local_mode: bool) -> bool:
    """Only http(s) URLs are followed (plain http only from the local simulator)."""
    parts = urlsplit(url)
    allowed = ("https", "http") if local_mode else ("https",)
    return parts.scheme in allowed and bool(parts.netloc)
