"""`oneinbox-gateway …`: serve, simulate, check, and the operator's commands.

One module per group of commands: `serve` (and `simulate`), `check`, `db`, `ops`
(`calls …`, `deliveries …`), `destinations`; `common` holds what they share.
"""

from __future__ import annotations

import sys

import typer

from gateway.cli.check import check
from gateway.cli.db import db_cli
from gateway.cli.destinations import destinations_cli
from gateway.cli.ops import calls_cli, deliveries_cli
from gateway.cli.serve import serve, simulate

cli = typer.Typer(
    name="oneinbox-gateway",
    help="Drive OneInbox voice agents from Slack and CRM workflows.",
    no_args_is_help=True,
    add_completion=False,
)
cli.command()(serve)
cli.command()(simulate)
cli.command()(check)
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
