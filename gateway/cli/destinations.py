"""`oneinbox-gateway destinations …`: where results go, their health, enable, test event.

The delivery and admin modules are imported inside the commands (start-up speed, see
`gateway.cli.common`), not to break a cycle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from gateway.cli.common import CommandError, fail, group, run_with_store, settings_or_exit
from gateway.cli.output import JsonOption, print_json, table, when

if TYPE_CHECKING:
    from gateway.store.database import Database

destinations_cli = group(
    "Where results go: list them with their health, enable a disabled one, send a "
    "signed test event."
)


@destinations_cli.command("list")
def list_destinations(as_json: JsonOption = False) -> None:
    """Every destination: disabled first, then failing, then healthy."""
    # Lazily (start-up speed): the admin API's models and the store.
    from gateway.admin.destinations import list_destinations as listing

    found = run_with_store(listing)
    if as_json:
        print_json([d.model_dump(mode="json") for d in found])
        return
    if not found:
        typer.echo("no destinations yet (they appear with the first result sent to them)")
        return
    rows = [
        [
            d.id,
            d.destination,
            d.target,
            d.status,
            when(d.failing_since),
            when(d.last_success_at),
            str(d.held),
            (d.last_error or "")[:60],
        ]
        for d in found
    ]
    headers = ["DESTINATION", "KIND", "TARGET", "STATUS", "FAILING SINCE", "LAST OK", "HELD"]
    typer.echo(table(rows, [*headers, "LAST ERROR"]))


@destinations_cli.command("enable")
def enable(
    destination_id: Annotated[str, typer.Argument(help="the destination id (dst_…)")],
) -> None:
    """Enable a disabled destination: its held results are due now."""

    async def work(db: Database) -> str:
        # Lazily (start-up speed): the admin API's models and the delivery domain.
        from gateway.admin.destinations import enable as enable_destination
        from gateway.delivery.health import UnknownEndpointError

        try:
            done = await enable_destination(db, destination_id, by="cli")
        except UnknownEndpointError as exc:
            raise CommandError(str(exc)) from None
        if not done.was_disabled:
            return f"{done.destination_id} is not disabled; nothing to do"
        return (
            f"{done.destination_id} is enabled; {done.released} held deliveries are due now "
            "(a running gateway sends them within seconds)"
        )

    typer.echo(run_with_store(work))


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
        # Lazily (start-up speed): the delivery domain and its HTTP client.
        from gateway.delivery.health import UnknownEndpointError
        from gateway.delivery.probe import (
            CallbackTarget,
            NotACallbackError,
            endpoint_target,
            send_test_event,
        )

        try:
            target = (
                await endpoint_target(db, destination_id)
                if destination_id is not None
                else CallbackTarget(url=str(url), secret_env=secret_env)
            )
        except (UnknownEndpointError, NotACallbackError) as exc:
            raise CommandError(str(exc)) from None
        result = await send_test_event(target, allow_private=allow, by="cli")
        return ("ok: " if result.ok else "failed: ") + result.describe()

    said = run_with_store(work)
    typer.echo(said.split(": ", 1)[1])
    if said.startswith("failed: "):
        raise typer.Exit(1)
