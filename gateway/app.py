"""`create_app(settings)`: the services, every route, the integrations and the lifespan."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import structlog
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount

from gateway import health
from gateway.admin.openapi import openapi_routes
from gateway.admin.routes import admin_routes
from gateway.calls.webhooks import register_webhook, should_register, webhook_routes, webhook_url
from gateway.config import GatewayConfig
from gateway.context import AppContext
from gateway.dashboard.routes import dashboard_routes
from gateway.http.errors import HTTPProblem, problem_response
from gateway.http.middleware import RequestContextMiddleware
from gateway.integration import discover
from gateway.join.routes import join_routes
from gateway.metrics import metrics_routes
from gateway.plugins import DashboardLink
from gateway.recordings.routes import recording_routes
from gateway.services import build_services, close_services, core_workers, oneinbox_events
from gateway.settings import Settings
from gateway.status.routes import status_routes
from gateway.upstream import SIMULATOR_MOUNT

log = structlog.get_logger(__name__)


def settle_heap() -> None:
    """Keep the garbage collector's full passes short so they do not stall the event loop.

    Measured with bench/slack.py: under a burst of requests, full collections walked the whole
    start-up heap (SQLAlchemy, pydantic, bolt…) and paused the loop for 100-400 ms, which set
    the Slack ack p99. Freezing what exists after start-up and collecting less often brings it
    back under 50 ms.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def core_routes(ctx: AppContext, links: Sequence[DashboardLink] = ()) -> list[BaseRoute]:
    """The core's routes (health, join, metrics, OneInbox webhooks, admin, dashboard);
    `links` are the integrations' buttons in the dashboard's header."""
    routes: list[BaseRoute] = [*health.routes(ctx), *join_routes(ctx)]
    routes += metrics_routes(ctx.metrics, ctx.db, ctx.calls.limits)
    routes += webhook_routes(ctx.tracker, ctx.webhook_token, on_event=oneinbox_events(ctx))
    routes += recording_routes(
        ctx.recording_links, ctx.client, ctx.db, local_mode=ctx.settings.local_mode
    )
    routes += status_routes(ctx.db, ctx.status_links)
    routes += [*admin_routes(ctx), *openapi_routes(ctx), *dashboard_routes(ctx, links)]
    if ctx.simulator is not None:
        routes.append(Mount(SIMULATOR_MOUNT, app=ctx.simulator))
    return routes


def create_app(settings: Settings, *, config: GatewayConfig | None = None) -> Starlette:
    """The gateway as an ASGI app; the lifespan migrates the store and runs the workers.

    `app.state.ctx` is the `AppContext`; `app.state.banner_lines` what integrations want
    printed under `serve`'s banner.
    """
    ctx = build_services(settings, config)
    added = [integration.setup(ctx) for integration in discover()]
    # The integrations' routes first: the busiest (a CRM's hooks, Slack's commands) are then
    # found without matching every core route on the way (measured: 17 µs a request with 38
    # routes before `/hooks/{name}`, 3% of a hook). Each lives under its own prefix, so none
    # hides a core route (tests/ops/test_routes.py checks).
    routes: list[BaseRoute] = [r for contribution in added for r in contribution.routes]
    routes += core_routes(ctx, [link for c in added for link in c.dashboard_links])
    workers = [*core_workers(ctx), *(w for c in added for w in c.workers)]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await ctx.db.migrate()
        for contribution in added:
            for hook in contribution.on_startup:
                await hook()
        if should_register(settings):
            url = webhook_url(settings, ctx.webhook_token)
            ctx.spawn(register_webhook(ctx.client, url), name="register-oneinbox-webhook")
        for worker in workers:
            await worker.start()
        settle_heap()
        log.info("gateway.started", local_mode=settings.local_mode, identity=ctx.identity)
        ctx.metrics.serving.inc()
        try:
            yield
        finally:
            ctx.metrics.serving.dec()
            for worker in reversed(workers):
                await worker.stop()
            await ctx.drain(timeout=10)
            for contribution in added:
                for hook in contribution.on_shutdown:
                    await hook()
            await close_services(ctx)
            log.info("gateway.stopped")

    async def on_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPProblem)
        return problem_response(exc)

    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[Middleware(RequestContextMiddleware, observers=[ctx.metrics.observe_request])],
        exception_handlers={HTTPProblem: on_problem},
    )
    app.state.ctx = ctx
    app.state.banner_lines = [line for c in added for line in c.banner_lines]
    return app
