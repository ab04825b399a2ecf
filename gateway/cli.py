"""`oneinbox-gateway …`: serve, simulate, check, and the operator's commands."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Annotated, NoReturn

import typer
import uvicorn

from gateway.cli_db import db_cli
from gateway.cli_destinations import destinations_cli
from gateway.cli_ops import calls_cli, deliveries_cli
from gateway.config import ConfigError, load_config
from gateway.logging import configure_logging
from gateway.preflight import storage_problem
from gateway.settings import Settings, SettingsError, load_settings

cli = typer.Typer(
    name="oneinbox-gateway",
    help="Drive OneInbox voice agents from Slack and CRM workflows.",
    no_args_is_help=True,
    add_completion=False,
)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print one clear line to stderr and exit."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def settings_or_exit(**overrides: object) -> Settings:
    """The settings, or one line naming the wrong one and exit 2."""
    try:
        settings = load_settings(**overrides)
        load_config(settings.config_path)
    except (SettingsError, ConfigError) as exc:
        fail(str(exc))
    configure_logging(
        fmt=settings.log_format, level=settings.log_level, secrets=settings.secret_values()
    )
    return settings


def print_banner_lines(lines: list[str]) -> None:
    """Lines integrations add to the banner once the app is built (e.g. the demo hook's curl)."""
    if lines:
        typer.echo("\n".join([*lines, ""]), err=True)


def banner(settings: Settings, host: str, port: int) -> str:
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


@cli.command()
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
    from gateway.metrics_process import prepare_multiprocess_dir, remove_multiprocess_dir

    # Several workers: metrics go through files every worker writes, added up per scrape.
    metrics_dir = prepare_multiprocess_dir() if workers > 1 else None
    try:
        uvicorn.run(
            "gateway.app:app_from_environment",
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


@cli.command()
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
    from gateway.simulator import SimulatorConfig, create_simulator_app

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


@cli.command()
def check() -> None:
    """Validate configuration and reach OneInbox and the database; non-zero on failure."""
    from gateway.checks import run_checks

    settings = settings_or_exit()
    rows = asyncio.run(run_checks(settings))
    width = max(len(name) for name, _, _ in rows)
    for name, ok, detail in rows:
        typer.echo(f"{name.ljust(width)}  {'ok  ' if ok else 'FAIL'}  {detail}")
    if not all(ok for _, ok, _ in rows):
        raise typer.Exit(1)


cli.add_typer(calls_cli, name="calls")
cli.add_typer(deliveries_cli, name="deliveries")
cli.add_typer(db_cli, name="db")
cli.add_typer(destinations_cli, name="destinations")


def main() -> None:
    """Console entry point."""
    try:
        cli()
    except KeyboardInterrupt:
        sys.exit(130)
