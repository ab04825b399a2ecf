"""`oneinbox-gateway destinations …`: where results go, their health, enable, test event."""

from __future__ import annotations

from typing import Annotated

import typer

from gateway.admin.destinations import enable as enable_destination
from gateway.admin.destinations import list_destinations as listing
from gateway.cli.common import fail, settings_or_exit
from gateway.cli.ops import _run, _table, _when
from gateway.delivery.health import UnknownEndpointError
from gateway.delivery.probe import (
    CallbackTarget,
    NotACallbackError,
    endpoint_target,
    send_test_event,
)
from gateway.store.database import Database

destinations_cli = typer.Typer(
    help="Where results go: list them with their health, enable a disabled one, send a "
    "signed test event."
)


@destinations_cli.command("list")
def list_destinations() -> None:
    """Every destination: disabled first, then failing, then healthy."""

    found = _run(listing)
    if not found:
        typer.echo("no destinations yet (they appear with the first result sent to them)")
        return
    rows = [
        [
            d.id,
            d.destination,
            d.target,
            d.status,
            _when(d.failing_since),
            _when(d.last_success_at),
            str(d.held),
            (d.last_error or "")[:60],
        ]
        for d in found
    ]
    headers = ["DESTINATION", "KIND", "TARGET", "STATUS", "FAILING SINCE", "LAST OK", "HELD"]
    typer.echo(_table(rows, [*headers, "LAST ERROR"]))


@destinations_cli.command("enable")
def enable(
    destination_id: Annotated[str, typer.Argument(help="the destination id (dst_…)")],
) -> None:
    """Enable a disabled destination: its held results are due now."""

    async def work(db: Database) -> str:
        try:
            done = await enable_destination(db, destination_id, by="cli")
        except UnknownEndpointError as exc:
            return f"error: {exc}"
        if not done.was_disabled:
            return f"{done.destination_id} is not disabled; nothing to do"
        return (
            f"{done.destination_id} is enabled; {done.released} held deliveries are due now "
            "(a running gateway sends them within seconds)"
        )

    said = _run(work)
    if said.startswith("error: "):
        fail(said.removeprefix("error: "), code=1)
    typer.echo(said)


@destinations_cli.command("test")
def test_event(
    destination_id: Annotated[
        str | None, typer.Argument(help="a callback destination's id (dst_…)")
    ] = None,
    url: Annotated[str | None, typer.Option(help="or any callback URL")] = None,
    secret_env: Annotated[
        str | None, typer.Option(help="with --url: the variable holding its whsec_ secret(s)")
    ] = None,
) -> None:
    """Send a signed `webhook.test` event and show the receiver's answer (exit 1 unless 2xx)."""

    if (destination_id is None) == (url is None):
        fail("give a destination id, or --url (not both)")
    allow = settings_or_exit().callback_allow_private

    async def work(db: Database) -> str:
        try:
            target = (
                await endpoint_target(db, destination_id)
                if destination_id is not None
                else CallbackTarget(url=str(url), secret_env=secret_env)
            )
        except (UnknownEndpointError, NotACallbackError) as exc:
            return f"error: {exc}"
        result = await send_test_event(target, allow_private=allow, by="cli")
        return ("ok: " if result.ok else "failed: ") + result.describe()

    said = _run(work)
    if said.startswith("error: "):
        fail(said.removeprefix("error: "), code=1)
    typer.echo(said.split(": ", 1)[1])
    if said.startswith("failed: "):
        raise typer.Exit(1)
