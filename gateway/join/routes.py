"""`/join/{link_id}`: the join page, the session it fetches, and the Leave button.

The link id is the only credential a participant holds. The participant token leaves the
store only in the body of `POST /join/{link_id}/session`, answered `no-store`; it is never
in the HTML, a URL, a cookie or a log line. An unknown, expired or finished link gets the
same 404 (page or body), so nobody can tell which.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import structlog
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from gateway.calls.errors import UnknownCallError
from gateway.calls.states import JOINABLE, CallState
from gateway.context import AppContext
from gateway.http.body import parse_json, read_body, require_json_type
from gateway.http.errors import HTTPProblem
from gateway.http.retry_after import retry_after_header
from gateway.limits.buckets import Budget, RateLimiter
from gateway.logging import redactor
from gateway.oneinbox.errors import NotFoundError, OneInboxError
from gateway.store.calls import CallRepository
from gateway.store.tables import CallRow
from gateway.store.transcripts import TranscriptRepository

log = structlog.get_logger(__name__)

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
BUNDLE = STATIC_DIR / "join.js"

# Sessions: a person retrying a few times is fine; a script guessing or hammering is not.
SESSION_PER_LINK = Budget(requests=10, seconds=60)
SESSION_PER_ADDRESS = Budget(requests=30, seconds=60)
LEAVE_PER_ADDRESS = Budget(requests=30, seconds=60)
# The page polls progress every 1 s (simulated call) or 4 s: room for a few open tabs.
PROGRESS_PER_ADDRESS = Budget(requests=300, seconds=60)
# States in which a call can still be joined or is running.

NOT_FOUND_CODE = "join_link_not_found"
NOT_FOUND_MESSAGE = "This join link is unknown or has expired. Ask for a new link."

# livekit-client talks to OneInbox's media servers (wss:, and https: for its checks).
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self' blob: mediastream:; connect-src 'self' https: wss: http: ws:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",  # the link id is in the URL: never pass it on
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Permissions-Policy": "microphone=(self), camera=(), geolocation=()",
}
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache", "Referrer-Policy": "no-referrer"}


def bundle_version() -> str:
    """A short hash of the built script, so a new build is never served from a cache."""
    try:
        return hashlib.sha256(BUNDLE.read_bytes()).hexdigest()[:12]
    except OSError:
        return "missing"


class JoinPage:
    """The handlers, with their rate limiters and templates."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))
        self.session_per_link = RateLimiter(SESSION_PER_LINK)
        self.session_per_address = RateLimiter(SESSION_PER_ADDRESS)
        self.leave_per_address = RateLimiter(LEAVE_PER_ADDRESS)
        self.progress_per_address = RateLimiter(PROGRESS_PER_ADDRESS)
        self.version = bundle_version()
        public = urlsplit(ctx.settings.public_base)
        self.public_origin = f"{public.scheme}://{public.netloc}"

    def render(self, request: Request, name: str, status: int, **values: Any) -> Response:
        context = {"local_mode": self.ctx.settings.local_mode, "version": self.version, **values}
        return self.templates.TemplateResponse(
            request, name, context, status_code=status, headers=PAGE_HEADERS
        )

    async def page(self, request: Request) -> Response:
        """`GET /join/{link_id}`: the page, or the one 404 page for every dead link."""
        link_id = request.path_params["link_id"]
        row = await self.ctx.db.reading(lambda s: self.ctx.links.find_live(s, link_id))
        if row is None:
            return self.render(request, "expired.html", 404)
        return self.render(request, "join.html", 200, agent_name=row.agent_name or "the agent")

    async def session(self, request: Request) -> Response:
        """`POST /join/{link_id}/session`: `{server_url, participant_token}`, no-store."""
        link_id = request.path_params["link_id"]
        self._limit(self.session_per_address, _client_address(request))
        await self._check_request(request)
        self._limit(self.session_per_link, link_id)
        row = await self.ctx.db.reading(lambda s: self.ctx.links.find_live(s, link_id))
        credentials = self.ctx.links.reveal(row) if row is not None else None
        if row is None or credentials is None:
            raise _not_found()
        redactor.add(credentials.participant_token)
        log.info("join.session_issued", call_id=row.call_id)
        body = {
            "server_url": credentials.server_url,
            "participant_token": credentials.participant_token,
            "expires_at": row.expires_at.isoformat(),
        }
        return JSONResponse(body, headers=NO_STORE)

    async def leave(self, request: Request) -> Response:
        """`POST /join/{link_id}/leave`: end the call upstream; the link dies with it."""
        self._limit(self.leave_per_address, _client_address(request))
        await self._check_request(request)
        async with self.ctx.db.session() as session:
            row = await self.ctx.links.find_for_leave(session, request.path_params["link_id"])
        if row is None:
            raise _not_found()
        try:
            await self.ctx.calls.stop_call(row.call_id)
        except UnknownCallError:
            raise _not_found() from None
        except NotFoundError:
            # OneInbox no longer knows the call: it is over either way.
            async with self.ctx.db.session() as session:
                await self.ctx.links.purge_for_call(session, row.call_id)
        except OneInboxError as exc:
            log.warning("join.leave_failed", call_id=row.call_id, error=str(exc))
            raise HTTPProblem(
                502,
                "upstream_unavailable",
                "OneInbox could not end the call just now. Try Leave again in a moment.",
            ) from None
        log.info("join.left", call_id=row.call_id)
        return JSONResponse({"left": True}, headers=NO_STORE)

    async def progress(self, request: Request) -> Response:
        """`GET /join/{link_id}/progress`: `{over, turns}`; the page polls it.

        `over` lets a tab notice a call that ended elsewhere. `turns` (what was said so far)
        is filled in local mode only, where the page shows a simulated call instead of audio.
        """
        self._limit(self.progress_per_address, _client_address(request))
        link_id = request.path_params["link_id"]
        local = self.ctx.settings.local_mode

        async def work(session: AsyncSession) -> tuple[CallRow | None, list[dict[str, Any]]]:
            row = await self.ctx.links.find_live(session, link_id)
            if row is None:
                raise _not_found()
            call = await CallRepository(session).get(row.call_id)
            turns = []
            if local:
                turns = [
                    {"role": turn.role, "text": turn.text, "final": turn.final}
                    for turn in await TranscriptRepository(session).turns(row.call_id)
                ]
            return call, turns

        call, turns = await self.ctx.db.reading(work)
        over = call is None or CallState(call.state) not in JOINABLE
        return JSONResponse({"over": over, "turns": turns}, headers=NO_STORE)

    def _limit(self, limiter: RateLimiter, key: str) -> None:
        wait = limiter.take(key)
        if wait > 0:
            raise HTTPProblem(
                429,
                "rate_limited",
                "Too many attempts. Wait a minute, then try again.",
                headers={"Retry-After": retry_after_header(wait), **NO_STORE},
            )

    async def _check_request(self, request: Request) -> None:
        """A same-origin JSON POST whose body is empty or a JSON object (nothing is required).

        Requiring JSON means a cross-site form cannot post here without a CORS preflight.
        """
        # The page's origin is PUBLIC_BASE_URL's: the Host header is the caller's to choose.
        origin = request.headers.get("origin")
        if origin is not None and origin != self.public_origin:
            raise HTTPProblem(403, "forbidden_origin", "requests must come from the join page")
        raw = await read_body(request)
        require_json_type(request)
        if raw.strip():
            body = parse_json(raw)
            if not isinstance(body, dict):
                raise HTTPProblem(422, "invalid_body", "the body must be a JSON object (or empty)")


def _client_address(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


def _not_found() -> HTTPProblem:
    return HTTPProblem(404, NOT_FOUND_CODE, NOT_FOUND_MESSAGE, headers=NO_STORE)


def join_routes(ctx: AppContext) -> list[BaseRoute]:
    """The join routes and static assets (the link janitor is `ctx.link_janitor`)."""
    # A bad JOIN_URL_TEMPLATE never gets this far: Settings refuses it with one line.
    if not BUNDLE.exists():
        log.warning("join.bundle_missing", path=str(BUNDLE), fix="run `make frontend`")
    handlers = JoinPage(ctx)
    return [
        Mount("/join/static", app=StaticFiles(directory=STATIC_DIR), name="join-static"),
        Route("/join/{link_id}", handlers.page, methods=["GET"]),
        Route("/join/{link_id}/session", handlers.session, methods=["POST"]),
        Route("/join/{link_id}/leave", handlers.leave, methods=["POST"]),
        Route("/join/{link_id}/progress", handlers.progress, methods=["GET"]),
    ]
