"""`create_app(settings)`: assembles routes, integrations and the lifespan. Nothing else."""

from __future__ import annotations

import gc
import sys
from collections.abc import AsyncIterator
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
from gateway.calls.reconciler import IntentReconciler
from gateway.calls.service import CallService
from gateway.config import ConfigError, GatewayConfig, load_config
from gateway.context import AppContext
from gateway.dashboard.routes import dashboard_routes
from gateway.delivery.wiring import delivery_routes
from gateway.http.errors import HTTPProblem, problem_response
from gateway.http.middleware import RequestContextMiddleware
from gateway.join.crypto import TokenBox
from gateway.join.links import JoinLinks
from gateway.join.routes import join_routes
from gateway.limits.policy import CallLimits
from gateway.limits.rules import load_rules
from gateway.metrics import GatewayMetrics, metrics_routes
from gateway.plugins import discover
from gateway.settings import Settings
from gateway.store.database import Database
from gateway.upstream import SIMULATOR_MOUNT, local_simulator, oneinbox_client

log = structlog.get_logger(__name__)


def build_context(settings: Settings, config: GatewayConfig | None = None) -> AppContext:
    """Every shared object, built once; nothing here does I/O."""
    config = config if config is not None else load_config(settings.config_path)
    db = Database(settings.database_url)
    metrics = GatewayMetrics()
    simulator_app = local_simulator(settings) if settings.local_mode else None
    client = oneinbox_client(
        settings, simulator_app=simulator_app, on_request=metrics.observe_upstream
    )
    links = JoinLinks(
        TokenBox(settings.secret_key()),
        public_base=settings.public_base,
        ttl_seconds=settings.join_link_ttl_seconds,
        template=settings.join_url_template,
    )
    rules = load_rules(
        settings.limit_values(), config.tables.get("limits"), path=str(config.path or "config")
    )
    limits = CallLimits(db, rules, on_refused=metrics.observe_limit_refused)
    ctx = AppContext(
        settings=settings,
        config=config,
        db=db,
        client=client,
        links=links,
        calls=CallService(
            client,
            db,
            links,
            config,
            limits=limits,
            intent_grace=settings.intent_grace_seconds,
        ),
    )
    ctx.workers.append(IntentReconciler(ctx.calls))
    ctx.extras["metrics"] = metrics
    ctx.extras["request_observers"] = [metrics.observe_request]
    if simulator_app is not None:
        ctx.extras["simulator_app"] = simulator_app
        # A mounted app's own lifespan never runs: close its timers with the gateway's.
        ctx.on_shutdown.append(simulator_app.state.simulator.aclose)
    return ctx


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


def create_app(settings: Settings, *, config: GatewayConfig | None = None) -> Starlette:
    """The gateway as an ASGI app; the lifespan migrates the store and runs the workers."""
    ctx = build_context(settings, config)
    routes: list[BaseRoute] = [*health.routes(ctx), *join_routes(ctx)]
    routes += metrics_routes(ctx.extras["metrics"], ctx.db, ctx.calls.limits)
    routes += delivery_routes(ctx)
    routes += [*admin_routes(ctx), *openapi_routes(ctx), *dashboard_routes(ctx)]
    for integration in discover():
        routes.extend(integration.setup(ctx))
    if ctx.extras.get("simulator_app") is not None:
        routes.append(Mount(SIMULATOR_MOUNT, app=ctx.extras["simulator_app"]))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await ctx.db.migrate()
        for hook in ctx.on_startup:
            await hook()
        for worker in ctx.workers:
            await worker.start()
        settle_heap()
        log.info("gateway.started", local_mode=settings.local_mode, identity=ctx.identity)
        try:
            yield
        finally:
            for worker in reversed(ctx.workers):
                await worker.stop()
            await ctx.drain(timeout=10)
            for hook in ctx.on_shutdown:
                await hook()
            await ctx.client.aclose()
            await ctx.db.dispose()
            log.info("gateway.stopped")

    async def on_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPProblem)
        return problem_response(exc)

    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[
            Middleware(
                RequestContextMiddleware, observers=ctx.extras.setdefault("request_observers", [])
            )
        ],
        exception_handlers={HTTPProblem: on_problem},
    )
    app.state.ctx = ctx
    return app


def app_from_environment() -> Starlette:
    """uvicorn's factory for `serve`: settings from the environment, logging configured."""
    from gateway.cli import print_banner_lines, settings_or_exit

    try:
        app = create_app(settings_or_exit())
    except ConfigError as exc:  # an integration's table is wrong: one line, exit 2
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    print_banner_lines(app.state.ctx.extras.get("banner_lines", []))
    return app
