"""`serve` (the gateway under uvicorn) and `simulate` (the OneInbox simulator alone).

`serve` prints its banner (where everything is, and the lines integrations add, such as the
demo hook's curl) as one block once start-up is over, after every start-up log line, so no
log line cuts it. Under `--workers N` the supervisor prints it before the workers start.
uvicorn, the app and the simulator are imported inside the commands (start-up speed of the
other commands, see `gateway.cli.common`), not to break a cycle.
"""

from __future__ import annotations

import gc
import os
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gateway.cli.common import fail, settings_or_exit

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from gateway.settings import Settings

# What integrations add under the banner; set by the app factory (one process: `serve`).
_BANNER_LINES: list[str] = []


def storage_lines(settings: Settings) -> list[str]:
    """Where the data lives, as the banner shows it: the store (never its password) and,
    in local mode, the data directory (generated secret key, demo hook token)."""
    # Lazily (start-up speed): SQLAlchemy's URL parser.
    from sqlalchemy.engine import make_url

    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        where = url.database or ":memory:"
        shown = where if where == ":memory:" else str(os.path.abspath(where))
        lines = [f"  database      SQLite {shown}"]
    else:
        lines = [f"  database      PostgreSQL {url.render_as_string(hide_password=True)}"]
    if settings.local_mode:
        lines.append(f"  data dir      {os.path.abspath(settings.data_dir)}")
    return lines


def banner(settings: Settings, host: str, port: int, extra: list[str] | None = None) -> str:
    """What `serve` prints once it is up: where everything is, then `extra` lines."""
    base = settings.public_base
    lines = ["", "OneInbox Gateway"]
    if settings.local_mode:
        lines.append(
            "  LOCAL MODE: no ONEINBOX_API_KEY set; the OneInbox simulator runs in-process"
        )
    lines += [
        f"  listening on  http://{host}:{port}",
        f"  dashboard     {base}/",
        f"  health        {base}/healthz",
        f"  hooks         {base}/hooks/<name>",
        *storage_lines(settings),
        *(extra or []),
        "",
    ]
    return "\n".join(lines)


def app_from_environment() -> Starlette:
    """uvicorn's factory for `serve`: settings from the environment, logging configured."""
    # Lazily (start-up speed): the whole app, slack-bolt included.
    from gateway.app import create_app
    from gateway.config import ConfigError

    try:
        app = create_app(settings_or_exit(cache_loggers=True))
    except ConfigError as exc:  # an integration's table is wrong: one line, exit 2
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    # What start-up made (modules, the app, SQLAlchemy's and pydantic's structures) lives as
    # long as the process: out of the cyclic collector's reach, a full collection scans only
    # what requests made since. Measured on the hooks benchmark: 35 ms instead of 300-350 ms
    # per full collection, each one a pause of every request in flight.
    gc.collect()
    gc.freeze()
    lines: list[str] = app.state.banner_lines
    _BANNER_LINES[:] = lines  # e.g. the demo hook's curl, shown with the banner
    return app


def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8080,
    workers: Annotated[int, typer.Option(help="processes (PostgreSQL only)")] = 1,
) -> None:
    """Migrate the store if needed, then serve."""
    # Lazily (start-up speed): uvicorn and the start-up checks.
    import uvicorn

    from gateway.cli.banner_server import BannerServer, print_block
    from gateway.metrics_process import prepare_multiprocess_dir, remove_multiprocess_dir
    from gateway.preflight import storage_problem

    if "PUBLIC_BASE_URL" not in os.environ:
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        os.environ["PUBLIC_BASE_URL"] = f"http://{shown}:{port}"
    settings = settings_or_exit()
    if workers > 1 and not settings.database_url.startswith("postgresql"):
        fail("--workers above 1 needs PostgreSQL (DATABASE_URL): SQLite serves one process")
    problem = settings.serve_problem(workers) or storage_problem(settings)
    if problem is not None:
        fail(problem)
    options: dict[str, Any] = {
        "factory": True,
        "host": host,
        "port": port,
        "log_config": None,
        "access_log": False,
        "proxy_headers": True,
        "forwarded_allow_ips": settings.forwarded_allow_ips,
        "timeout_graceful_shutdown": 15,
    }
    if workers == 1:
        config = uvicorn.Config("gateway.cli.serve:app_from_environment", **options)
        server = BannerServer(config, lambda: banner(settings, host, port, _BANNER_LINES))
        server.run()
        if not server.started:  # as uvicorn.run: the port was taken, start-up failed, …
            sys.exit(3)
        return
    print_block(banner(settings, host, port))
    # Several workers: metrics go through files every worker writes, added up per scrape.
    metrics_dir = prepare_multiprocess_dir()
    try:
        uvicorn.run("gateway.cli.serve:app_from_environment", workers=workers, **options)
    finally:
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
    # Lazily (start-up speed): uvicorn and the simulator.
    import uvicorn

    from gateway.logging import configure_logging
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
