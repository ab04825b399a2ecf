"""`oneinbox-gateway calls …` and `deliveries …`: what an operator looks at and brings back."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Annotated, TypeVar

import typer

from gateway.calls.phone import mask
from gateway.cli.common import fail, settings_or_exit
from gateway.delivery.replay import NotReplayableError, UnknownDeliveryError, replay_delivery
from gateway.store.calls import CallRepository
from gateway.store.database import Database
from gateway.store.deliveries import DeliveryRepository
from gateway.store.tables import CallRow, DeliveryRow

T = TypeVar("T")

calls_cli = typer.Typer(help="Calls the gateway follows: list them, show one's history.")
deliveries_cli = typer.Typer(help="Deliveries of call results: list them, replay a failed one.")


def _run(work: Callable[[Database], Awaitable[T]]) -> T:
    settings = settings_or_exit()
    db = Database(settings.database_url)

    async def main() -> T:
        try:
            return await work(db)
        finally:
            await db.dispose()

    try:
        return asyncio.run(main())
    except (UnknownDeliveryError, NotReplayableError) as exc:
        fail(str(exc), code=1)
    except Exception as exc:  # e.g. the database is unreachable or not migrated yet
        fail(f"{type(exc).__name__}: {exc}".splitlines()[0], code=1)


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else "-"


def _table(rows: Sequence[Sequence[str]], headers: Sequence[str]) -> str:
    widths = [
        max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)
    ]
    lines = [headers, *rows]
    return "\n".join(
        "  ".join(
            str(cell).ljust(width) for cell, width in zip(line, widths, strict=False)
        ).rstrip()
        for line in lines
    )


def _kind(row: CallRow) -> str:
    """`web`, or `outbound •••0123` (a phone call; the number masked)."""
    if row.call_type == "outbound":
        return f"outbound {mask(row.to_number) or '?'}"
    return "web"


@calls_cli.command("list")
def list_calls(
    state: Annotated[str | None, typer.Option(help="only calls in this state")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
) -> None:
    """The newest calls with their state."""

    async def work(db: Database) -> list[list[str]]:
        async with db.session() as session:
            rows = await CallRepository(session).recent(limit=limit, state=state)
        return [
            [
                r.id,
                _kind(r),
                r.state,
                r.agent_name or r.agent_id,
                f"{r.origin_kind}:{r.origin_name}",
                _when(r.created_at),
                (r.last_error or "")[:60],
            ]
            for r in rows
        ]

    rows = _run(work)
    if not rows:
        typer.echo("no calls")
        return
    headers = ["CALL", "TYPE", "STATE", "AGENT", "ORIGIN", "CREATED", "LAST ERROR"]
    typer.echo(_table(rows, headers))


@calls_cli.command("show")
def show_call(call_id: Annotated[str, typer.Argument(help="the call id")]) -> None:
    """A call's whole history: transitions, deliveries, their attempts and last errors."""

    async def work(db: Database) -> list[str]:
        async with db.session() as session:
            calls = CallRepository(session)
            row = await calls.get(call_id)
            if row is None:
                return []
            events = await calls.events(call_id)
            deliveries_repo = DeliveryRepository(session)
            deliveries = await deliveries_repo.for_call(call_id)
            attempts = {d.id: await deliveries_repo.attempts(d.id) for d in deliveries}
        out = [
            f"call        {row.id}",
            f"state       {row.state}",
            f"type        {_kind(row)}",
            f"agent       {row.agent_name or '-'} ({row.agent_id})",
            f"origin      {row.origin_kind}:{row.origin_name}",
            f"upstream    {row.upstream_status or '-'}",
            f"created     {_when(row.created_at)}",
            f"ended       {_when(row.ended_at)}",
            f"last error  {row.last_error or '-'}",
        ]
        if row.result:
            out.append(f"outcome     {row.result.get('outcome') or '-'}")
            out.append(f"summary     {row.result.get('summary') or '-'}")
        out += ["", "transitions"]
        for event in events:
            out.append(
                f"  {_when(event.at)}  {event.from_state or '-'} -> {event.to_state}"
                f"  {event.detail or ''}".rstrip()
            )
        out += ["", "deliveries" if deliveries else "deliveries  none yet"]
        for d in deliveries:
            out.append(f"  {d.id}  {d.destination}  {d.state}  attempts={d.attempts}")
            out.append(f"    target      {_target(d)}")
            out.append(f"    last error  {d.last_error or '-'}")
            for a in attempts[d.id]:
                status = a.status_code if a.status_code is not None else "-"
                signed = f"  signed by {' '.join(a.signed_by)}" if a.signed_by else ""
                out.append(
                    f"    try {_when(a.at)}  status={status}  {a.duration_ms or 0} ms"
                    f"  {a.error or 'ok'}{signed}"
                )
        return out

    lines = _run(work)
    if not lines:
        fail(f"unknown call {call_id!r}", code=1)
    typer.echo("\n".join(lines))


def _target(d: DeliveryRow) -> str:
    """What a delivery goes to, without any query string (it may hold a token)."""
    if d.destination == "callback":
        return str((d.config or {}).get("url", d.destination_key)).split("?")[0]
    return d.destination_key


@deliveries_cli.command("list")
def list_deliveries(
    failed: Annotated[
        bool, typer.Option("--failed", help="only dead, disabled, held or failing")
    ] = False,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
) -> None:
    """The most recently changed deliveries."""

    async def work(db: Database) -> list[list[str]]:
        async with db.session() as session:
            repo = DeliveryRepository(session)
            rows = await repo.recent(failed_only=failed, limit=limit)
            signed = await repo.last_signed_by([d.id for d in rows])
        return [
            [
                d.id,
                d.call_id,
                d.destination,
                d.state,
                str(d.attempts),
                _when(d.next_attempt_at),
                " ".join(signed.get(d.id, [])) or "-",
                (d.last_error or "")[:60],
            ]
            for d in rows
        ]

    rows = _run(work)
    if not rows:
        typer.echo("no failed deliveries" if failed else "no deliveries")
        return
    headers = ["DELIVERY", "CALL", "DESTINATION", "STATE", "TRIES", "NEXT TRY", "SIGNED BY"]
    headers.append("LAST ERROR")
    typer.echo(_table(rows, headers))


@deliveries_cli.command("replay")
def replay(delivery_id: Annotated[str, typer.Argument(help="the delivery id (msg_…)")]) -> None:
    """Bring a dead, disabled or failing delivery back: pending, due now, same id."""

    async def work(db: Database) -> str:
        row = await replay_delivery(db, delivery_id, by="cli")
        return row.id

    replayed = _run(work)
    typer.echo(f"{replayed} is pending again; a running gateway delivers it within seconds")
