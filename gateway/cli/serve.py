"""`serve` (the gateway under uvicorn) and `simulate` (the OneInbox simulator alone)."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer
import uvicorn
from starlette.applications import Starlette

from gateway.app import create_app
from gateway.cli.common import fail, settings_or_exit
from gateway.config import ConfigError
from gateway.logging import configure_logging
from gateway.metrics_process import prepare_multiprocess_dir, remove_multiprocess_dir
from gateway.preflight import storage_problem
from gateway.settings import Settings
from gateway.simulator import SimulatorConfig, create_simulator_app


def banner(settings: Settings, host: str, port: int) -> str:
    """What `serve` prints before it starts: where everything is."""
    base = settings.public_base
    lines = ["", "OneInbox Gateway"]
    if settings.local_mode:
        lines.append(
            "  LOCAL MODE: no ONEINBOX_API_KEY set; the OneInbox simulator runs in-process"
            " and data lives in SQLite under ./data/"
        )
    lines += [
        f"  listening on  http://{host}:{port}",
        f"  dashboard     {base}/",
        f"  health        {base}/healthz",
        f"  hooks         {base}/hooks/<name>",
        "",
    ]
    return "\n".join(lines)


def app_from_environment() -> Starlette:
    """uvicorn's factory for `serve`: settings from the environment, logging configured."""
    try:
        app = create_app(settings_or_exit())
    except ConfigError as exc:  # an integration's table is wrong: one line, exit 2
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    lines: list[str] = app.state.banner_lines
    if lines:  # e.g. the demo hook's curl
        typer.echo("\n".join([*lines, ""]), err=True)
    return app


def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8080,
    workers: Annotated[int, typer.Option(help="processes (PostgreSQL only)")] = 1,
) -> None:
    """Migrate the store if needed, then serve."""
    if "PUBLIC_BASE_URL" not in os.environ:
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        os.environ["PUBLIC_BASE_URL"] = f"http://{shown}:{port}"
    settings = settings_or_exit()
    if workers > 1 and not settings.database_url.startswith("postgresql"):
        fail("--workers above 1 needs PostgreSQL (DATABASE_URL): SQLite serves one process")
    problem = settings.serve_problem(workers) or storage_problem(settings)
    if problem is not None:
        fail(problem)
    typer.echo(banner(settings, host, port), err=True)
    # Several workers: metrics go through files every worker writes, added up per scrape.
    metrics_dir = prepare_multiprocess_dir() if workers > 1 else None
    try:
        uvicorn.run(
            "gateway.cli.serve:app_from_environment",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_config=None,
            access_log=False,
            proxy_headers=True,
            forwarded_allow_ips=settings.forwarded_allow_ips,
            timeout_graceful_shutdown=15,
        )
    finally:
        if metrics_dir is not None:
            remove_multiprocess_dir(*metrics_dir)


def simulate(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8090,
    latency: Annotated[float, typer.Option(help="seconds added to every request")] = 0.0,
    error_rate: Annotated[float, typer.Option(help="share of 5xx answers, 0-1")] = 0.0,
    rate_429: Annotated[float, typer.Option(help="share of 429 answers, 0-1")] = 0.0,
    analysis_delay: Annotated[float, typer.Option(help="seconds until analysis")] = 2.0,
    auto_live_after: Annotated[
        float | None, typer.Option(help="seconds until a call goes live by itself")
    ] = None,
    max_duration: Annotated[float | None, typer.Option(help="end live calls after this")] = None,
    api_key: Annotated[
        list[str] | None, typer.Option(help="accept only this key (repeatable)")
    ] = None,
) -> None:
    """Run the OneInbox simulator alone (for local use and tests only)."""
    configure_logging(fmt=os.environ.get("LOG_FORMAT"), level="info")
    config = SimulatorConfig(
        latency_seconds=latency,
        error_rate_5xx=error_rate,
        rate_429=rate_429,
        analysis_delay=analysis_delay,
        auto_live_after=auto_live_after,
        max_duration_seconds=max_duration,
        api_keys=api_key or None,
    )
    typer.echo(f"OneInbox simulator on http://{host}:{port} (any oi_sk_… key)", err=True)
    uvicorn.run(create_simulator_app(config), host=host, port=port, log_config=None)
