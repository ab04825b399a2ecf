"""`oneinbox-gateway …`: serve, simulate, check, and the operator's commands.

One module per group of commands: `serve` (and `simulate`), `check`, `db`, `ops`
(`calls …`, `deliveries …`), `destinations`; `common` holds what they share, `output` how
they print. Every module here imports only what lists the commands; what a command needs
is imported when it runs (see `gateway.cli.common`), so `--help`, `--version` and the
operator's commands start in a fraction of `serve`'s time.
"""

from __future__ import annotations

import sys
from typing import Annotated

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
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        # Lazily (start-up speed): importlib.metadata is a tenth of the command line's import.
        from importlib.metadata import version

        typer.echo(f"oneinbox-gateway {version('oneinbox-gateway')}")
        raise typer.Exit()


@cli.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="print the version and exit"
        ),
    ] = False,
) -> None:
    """Drive OneInbox voice agents from Slack and CRM workflows."""


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
