"""`/dashboard/destinations`: where results go, their health, Enable and Send a test event.

Every dashboard page also carries a banner while any destination is disabled
(`disabled_count`, read once per page).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import structlog
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from gateway.admin import actions, destinations
from gateway.admin.models import SendTestEventRequest, SentTestEvent
from gateway.dashboard.forms import read_form, require_csrf
from gateway.dashboard.session import DashboardSession
from gateway.delivery.health import UnknownEndpointError, describe_span
from gateway.delivery.probe import NotACallbackError
from gateway.http.errors import HTTPProblem
from gateway.store.database import Database
from gateway.store.endpoints import EndpointRepository

if TYPE_CHECKING:
    from gateway.dashboard.routes import Dashboard

log = structlog.get_logger(__name__)


async def disabled_count(db: Database) -> int:
    """How many destinations are disabled now (for the banner)."""
    return await db.reading(lambda session: EndpointRepository(session).disabled_total())


class DestinationPages:
    """The page and its two actions, on top of the dashboard's sessions and rendering."""

    def __init__(self, board: Dashboard) -> None:
        self.board = board
        self.ctx = board.ctx

    async def page(
        self,
        request: Request,
        session: DashboardSession,
        *,
        sent: SentTestEvent | None = None,
        status: int = 200,
    ) -> Response:
        context: dict[str, Any] = {
            "destinations": await destinations.list_destinations(self.ctx.db),
            "disable_after": describe_span(self.ctx.settings.destination_disable_after_seconds),
            "sent": sent,
        }
        return self.board.render(
            request, "destinations.html", context, status=status, session=session
        )

    async def listing(self, request: Request, session: DashboardSession) -> Response:
        return await self.page(request, session)

    async def enable(self, request: Request, session: DashboardSession) -> Response:
        require_csrf(session, await read_form(request))
        destination_id = request.path_params["destination_id"]
        try:
            await destinations.enable(self.ctx.db, destination_id, by="dashboard")
        except UnknownEndpointError:
            raise HTTPProblem(404, "unknown_destination", "no destination has that id") from None
        return RedirectResponse("/dashboard/destinations", status_code=303)

    async def test(self, request: Request, session: DashboardSession) -> Response:
        """Send a test event to a known destination, or to the URL of the form; the
        receiver's answer is shown on the page."""
        form = await read_form(request)
        require_csrf(session, form)
        allow = self.ctx.settings.callback_allow_private
        destination_id = request.path_params.get("destination_id")
        if destination_id is not None:
            try:
                sent = await destinations.send_test_to_destination(
                    self.ctx.db, destination_id, allow_private=allow, by="dashboard"
                )
            except UnknownEndpointError:
                raise HTTPProblem(
                    404, "unknown_destination", "no destination has that id"
                ) from None
            except NotACallbackError as exc:
                raise HTTPProblem(422, "not_a_callback", str(exc)) from None
        else:
            try:
                target = SendTestEventRequest(
                    url=form.get("url", "").strip(),
                    secret_env=form.get("secret_env", "").strip() or None,
                )
            except ValueError:
                raise HTTPProblem(
                    422, "invalid_target", "give a URL, and the secret variable's NAME if any"
                ) from None
            await actions.check_callback_target(self.ctx, target.url, target.secret_env)
            sent = await destinations.send_test_to_url(
                target.url, target.secret_env, allow_private=allow, by="dashboard"
            )
        return await self.page(request, session, sent=sent)


def destination_routes(board: Dashboard) -> list[Route]:
    """The Destinations page and its forms."""
    pages = DestinationPages(board)
    return [
        Route("/dashboard/destinations", board.page(pages.listing), methods=["GET"]),
        Route("/dashboard/destinations/test", board.action(pages.test), methods=["POST"]),
        Route(
            "/dashboard/destinations/{destination_id}/enable",
            board.action(pages.enable),
            methods=["POST"],
        ),
        Route(
            "/dashboard/destinations/{destination_id}/test",
            board.action(pages.test),
            methods=["POST"],
        ),
    ]
