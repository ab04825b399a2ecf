"""`GET /` and `/dashboard/*`: server-rendered pages over the same store as the admin API."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
import pydantic
import structlog
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from gateway.admin import actions, queries
from gateway.admin.auth import token_matches
from gateway.admin.models import StartCallRequest
from gateway.calls.commands import CreateAgent, Origin
from gateway.calls.states import JOINABLE, TERMINAL
from gateway.context import AppContext
from gateway.dashboard import charts, listing, revocations
from gateway.dashboard.destinations import destination_routes, disabled_count
from gateway.dashboard.forms import read_form, require_csrf
from gateway.dashboard.session import COOKIE, LIFETIME_SECONDS, DashboardSession, SessionSigner
from gateway.http.errors import HTTPProblem
from gateway.http.retry_after import retry_after_header
from gateway.limits.buckets import Budget, RateLimiter
from gateway.live.stream import DONE_STATES, transcript_response
from gateway.oneinbox.errors import OneInboxError
from gateway.oneinbox.problems import upstream_problem
from gateway.plugins import DashboardLink
from gateway.store.agents import AgentRepository
from gateway.store.join_links import JoinLinkRepository
from gateway.store.tables import utcnow
from gateway.upstream import LOCAL_API_KEY

log = structlog.get_logger(__name__)
TERMINAL_NAMES = frozenset(str(s) for s in TERMINAL)
HERE = Path(__file__).parent
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "script-src 'self'; connect-src 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}
Handler = Callable[[Request], Awaitable[Response]]
SessionHandler = Callable[[Request, DashboardSession], Awaitable[Response]]
RECENT_CALLS = 20  # on the overview; the calls list pages through the rest
BAD_NAME = "an agent name is 1-200 characters"
# Sign-in attempts per client address: plenty for a person, nothing for a guessing script.
SIGN_IN_PER_ADDRESS = Budget(requests=10, seconds=60)


class Dashboard:
    """The pages; `local mode without ADMIN_TOKEN` needs no sign-in and says so."""

    def __init__(self, ctx: AppContext, links: Sequence[DashboardLink] = ()) -> None:
        self.ctx = ctx
        self.links = list(links)  # integrations' header buttons (Add to Slack)
        self.settings = ctx.settings
        token = ctx.settings.admin_token
        self.token = token.get_secret_value() if token is not None else None
        self.open = ctx.settings.local_mode and not self.token
        self.signer = SessionSigner(ctx.settings.secret_key(), self.token)
        self.templates = Jinja2Templates(directory=HERE / "templates")
        self.sign_ins = RateLimiter(SIGN_IN_PER_ADDRESS)

    # -- sessions ---------------------------------------------------------------------
    async def session_of(self, request: Request) -> DashboardSession | None:
        """The cookie's session, unless it is forged, expired or signed out."""
        session = self.signer.read(request.cookies.get(COOKIE))
        if session is not None and await revocations.is_revoked(self.ctx.db, session):
            return None
        return session

    def set_cookie(self, request: Request, response: Response, value: str) -> None:
        secure = request.url.scheme == "https" or self.settings.public_base.startswith("https")
        response.set_cookie(
            COOKIE,
            value,
            max_age=LIFETIME_SECONDS,
            httponly=True,
            samesite="strict",
            secure=secure,
            path="/",
        )

    def render(
        self,
        request: Request,
        name: str,
        context: dict[str, Any],
        *,
        status: int = 200,
        session: DashboardSession | None = None,
    ) -> Response:
        base: dict[str, Any] = {
            "local_mode": self.settings.local_mode,
            "open": self.open,
            "signed_in": session is not None,
            "csrf": session.csrf if session else "",
            "header_links": self.links,
            "disabled_destinations": getattr(request.state, "disabled_destinations", 0),
        }
        return self.templates.TemplateResponse(
            request, name, {**base, **context}, status_code=status, headers=PAGE_HEADERS
        )

    def page(self, handler: SessionHandler) -> Handler:
        """A page for a signed-in browser; in open mode a session is made on the way."""

        async def run(request: Request) -> Response:
            session = await self.session_of(request)
            fresh: str | None = None
            if session is None and self.open:
                fresh, session = self.signer.issue()
            try:
                if session is None:
                    return await self.front(request)
                request.state.disabled_destinations = await disabled_count(self.ctx.db)
                response = await handler(request, session)
            except HTTPProblem as problem:
                response = self.render(
                    request,
                    "error.html",
                    {"code": problem.code, "message": problem.message},
                    status=problem.status,
                    session=session,
                )
            if fresh is not None:
                self.set_cookie(request, response, fresh)
            return response

        return run

    def action(
        self, handler: Callable[[Request, DashboardSession], Awaitable[Response]]
    ) -> Handler:
        """A form post: a session (401) and its CSRF token (403) come before anything else."""

        async def run(request: Request) -> Response:
            session = await self.session_of(request)
            if session is None:
                problem = HTTPProblem(401, "signed_out", "sign in to the dashboard first")
                return self.render(
                    request,
                    "error.html",
                    {"code": problem.code, "message": problem.message},
                    status=401,
                )
            try:
                return await handler(request, session)
            except HTTPProblem as problem:
                return self.render(
                    request,
                    "error.html",
                    {"code": problem.code, "message": problem.message},
                    status=problem.status,
                    session=session,
                )

        return run

    async def front(self, request: Request, *, failed: bool = False) -> Response:
        """The sign-in page, or the landing page when the dashboard is off."""
        if self.token is None:
            return self.render(request, "landing.html", {})
        return self.render(
            request, "signin.html", {"failed": failed}, status=401 if failed else 200
        )

    # -- pages ------------------------------------------------------------------------
    async def overview(self, request: Request, session: DashboardSession) -> Response:
        db = self.ctx.db
        starts = charts.hour_starts(utcnow())
        # At once, each on a read connection of its own: under load every await waits a turn
        # of a busy event loop, so five reads one after another took five times as long.
        recent, day, failed, agents, limits = await asyncio.gather(
            listing.newest_calls(db, RECENT_CALLS),
            queries.day_counts(db, queries.day_ago(), starts),
            queries.list_deliveries(db, limit=50, offset=0, failed=True),
            self._agent_names(),
            self.ctx.calls.limits.report(),
        )
        return self.render(
            request,
            "overview.html",
            {
                "limits": limits,
                "calls": recent,
                "failed": failed,
                "bars": charts.outcome_bars(day),
                "hours": charts.calls_per_hour(day, starts),
                "day_total": charts.total(day),
                "agents": agents,
            },
            session=session,
        )

    async def _agent_names(self) -> list[str]:
        """Agents the store knows and those the config names, sorted."""

        async def work(s: AsyncSession) -> set[str]:
            return {row.name for row in await AgentRepository(s).list()}

        return sorted(await self.ctx.db.reading(work) | set(self.ctx.config.agents))

    async def calls_list(self, request: Request, session: DashboardSession) -> Response:
        """`/dashboard/calls`: search, filters and pages; a bad filter is a 400 that says why."""
        context, ok = await listing.calls_context(
            self.ctx.db, request.query_params, list(self.ctx.config.agents)
        )
        return self.render(
            request, "calls.html", context, status=200 if ok else 400, session=session
        )

    async def rates(self, request: Request, session: DashboardSession) -> Response:
        """`/dashboard/rates`: success per origin and per destination over a window."""
        try:
            context = await listing.rates_context(
                self.ctx.db, request.query_params.get("window", "")
            )
        except listing.BadQuery as exc:
            raise HTTPProblem(400, "invalid_window", str(exc)) from None
        return self.render(request, "rates.html", context, session=session)

    async def call_page(self, request: Request, session: DashboardSession) -> Response:
        call_id = request.path_params["call_id"]
        detail = await queries.call_detail(self.ctx.db, call_id)
        if detail is None:
            raise HTTPProblem(404, "unknown_call", "the gateway has no call with that id")
        join_url = None
        if self.settings.local_mode and detail.state in JOINABLE:
            join_url = await self._join_url(call_id)
        messages = (detail.result or {}).get("messages") or []
        return self.render(
            request,
            "call.html",
            {
                "call": detail,
                "messages": [m for m in messages if isinstance(m, dict)],
                "summary": (detail.result or {}).get("summary"),
                "join_url": join_url,
                "can_end": self.settings.local_mode and detail.state in JOINABLE,
                # The live transcript's script follows the call and reloads at its end.
                "live": detail.state not in DONE_STATES,
                "refresh": detail.state in DONE_STATES and detail.state not in TERMINAL_NAMES,
            },
            session=session,
        )

    async def transcript_stream(self, request: Request) -> Response:
        """`text/event-stream` of the call's turns, for a signed-in page (or open mode)."""
        if await self.session_of(request) is None and not self.open:
            return JSONResponse(
                {"error": {"code": "signed_out", "message": "sign in to the dashboard first"}},
                status_code=401,
            )
        call_id = request.path_params["call_id"]
        if await queries.call_detail(self.ctx.db, call_id) is None:
            return JSONResponse(
                {"error": {"code": "unknown_call", "message": "no call has that id"}},
                status_code=404,
            )
        return transcript_response(self.ctx.db, call_id)

    async def _join_url(self, call_id: str) -> str | None:
        row = await self.ctx.db.reading(lambda s: JoinLinkRepository(s).for_call(call_id))
        if row is None or row.purged_at is not None:
            return None
        credentials = self.ctx.links.reveal(row)
        if credentials is None:
            return None
        return self.ctx.links.url_for(row.id, call_id, credentials)

    # -- actions ----------------------------------------------------------------------
    async def sign_in(self, request: Request) -> Response:
        address = request.client.host if request.client is not None else "unknown"
        wait = self.sign_ins.take(address)
        if wait > 0:
            raise HTTPProblem(
                429,
                "too_many_sign_ins",
                "too many sign-in attempts; wait a minute",
                headers={"Retry-After": retry_after_header(wait)},
            )
        form = await read_form(request)
        if self.token is None:
            return await self.front(request)
        if not token_matches(form.get("token", ""), self.settings):
            log.info("dashboard.sign_in_failed")
            return await self.front(request, failed=True)
        value, _ = self.signer.issue()
        response = RedirectResponse("/", status_code=303)
        self.set_cookie(request, response, value)
        return response

    async def sign_out(self, request: Request, session: DashboardSession) -> Response:
        require_csrf(session, await read_form(request))
        await revocations.revoke(self.ctx.db, session)  # a copy of the cookie dies too
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
        return response

    async def replay(self, request: Request, session: DashboardSession) -> Response:
        form = await read_form(request)
        require_csrf(session, form)
        delivery_id = request.path_params["delivery_id"]
        await queries.replay_delivery(self.ctx.db, delivery_id, by="dashboard")
        log.info("dashboard.replayed", delivery_id=delivery_id)
        return RedirectResponse(_local_path(form.get("next")), status_code=303)

    async def try_call(self, request: Request, session: DashboardSession) -> Response:
        if not self.settings.local_mode:
            raise HTTPProblem(404, "not_found", "Try a call is for local mode")
        form = await read_form(request)
        require_csrf(session, form)
        new_agent = form.get("new_agent", "").strip()
        agent = new_agent or form.get("agent", "").strip()
        if not agent:
            raise HTTPProblem(422, "missing_agent", "pick an agent or name a new one")
        if new_agent:
            try:
                await self.ctx.calls.create_agent(CreateAgent(name=new_agent))
            except pydantic.ValidationError:
                raise HTTPProblem(
                    422, "invalid_agent", "an agent name is 1-200 characters"
                ) from None
            except OneInboxError as exc:
                raise upstream_problem(exc) from None
        try:
            body = StartCallRequest(agent=agent)
        except pydantic.ValidationError:
            raise HTTPProblem(422, "invalid_agent", BAD_NAME) from None
        origin = Origin(kind="dashboard", name="try")
        phone = form.get("phone", "").strip()
        if phone:  # the simulator plays the phone network: it rings, answers, hangs up
            dialled = await actions.start_phone_call(self.ctx, body.agent, phone, origin)
            return RedirectResponse(f"/dashboard/calls/{dialled.call_id}", status_code=303)
        started = await actions.start_call(self.ctx, body, origin)
        return RedirectResponse(f"/dashboard/calls/{started.call_id}", status_code=303)

    async def end_simulated(self, request: Request, session: DashboardSession) -> Response:
        simulator = self.ctx.simulator
        if simulator is None:
            raise HTTPProblem(404, "not_found", "only simulated calls can be ended here")
        require_csrf(session, await read_form(request))
        call_id = request.path_params["call_id"]
        if await queries.call_detail(self.ctx.db, call_id) is None:
            raise HTTPProblem(404, "unknown_call", "the gateway has no call with that id")

        transport = httpx.ASGITransport(app=simulator)
        async with httpx.AsyncClient(transport=transport, base_url="http://simulator") as sim:
            answer = await sim.post(
                f"/_sim/calls/{call_id}/end",
                json={},
                headers={"Authorization": f"Bearer {self.token or LOCAL_API_KEY}"},
            )
        if answer.status_code not in (200, 409):
            raise HTTPProblem(502, "simulator_failed", f"the simulator said {answer.status_code}")
        await self.ctx.tracker.hint(call_id)  # look at it now, not at its next poll
        return RedirectResponse(f"/dashboard/calls/{call_id}", status_code=303)


def _local_path(value: str | None) -> str:
    """Redirect only within the dashboard (no `//host` or `https:` open redirects)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


def dashboard_routes(ctx: AppContext, links: Sequence[DashboardLink] = ()) -> list[BaseRoute]:
    """`GET /` and the dashboard's pages, forms and stylesheet; `links` go in its header."""
    board = Dashboard(ctx, links)
    return [
        Route("/", board.page(board.overview), methods=["GET"]),
        Route("/dashboard/calls", board.page(board.calls_list), methods=["GET"]),
        Route("/dashboard/rates", board.page(board.rates), methods=["GET"]),
        Route("/dashboard/calls/{call_id}", board.page(board.call_page), methods=["GET"]),
        Route("/dashboard/calls/{call_id}/transcript", board.transcript_stream, methods=["GET"]),
        Route("/dashboard/login", board.sign_in, methods=["POST"]),
        Route("/dashboard/logout", board.action(board.sign_out), methods=["POST"]),
        Route(
            "/dashboard/deliveries/{delivery_id}/replay",
            board.action(board.replay),
            methods=["POST"],
        ),
        Route("/dashboard/try", board.action(board.try_call), methods=["POST"]),
        Route(
            "/dashboard/calls/{call_id}/end-simulated",
            board.action(board.end_simulated),
            methods=["POST"],
        ),
        *destination_routes(board),
        Mount("/dashboard/static", app=StaticFiles(directory=HERE / "static"), name="dashboard"),
    ]
