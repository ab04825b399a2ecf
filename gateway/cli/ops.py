"""`oneinbox-gateway calls …` and `deliveries …`: what an operator looks at and brings back.

Each listing takes `--json` (see `gateway.cli.output`). The store's modules are imported
inside the commands (start-up speed, see `gateway.cli.common`), not to break a cycle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from gateway.calls.states import CallState
from gateway.cli.common import CommandError, fail, group, run_with_store
from gateway.cli.output import JsonOption, iso, print_json, table, when

if TYPE_CHECKING:
    from gateway.store.database import Database
    from gateway.store.tables import CallRow, DeliveryRow

calls_cli = group("Calls the gateway follows: list them, show one's history.")
deliveries_cli = group("Deliveries of call results: list them, replay a failed one.")

STATES = [str(s) for s in CallState]


def _masked_number(row: CallRow) -> str | None:
    # Lazily (start-up speed): phonenumbers' metadata.
    from gateway.phone import mask

    return mask(row.to_number) if row.call_type == "outbound" else None


def _kind(row: CallRow) -> str:
    """`web`, or `outbound •••0123` (a phone call; the number masked)."""
    if row.call_type == "outbound":
        return f"outbound {_masked_number(row) or '?'}"
    return "web"


def _call_json(row: CallRow) -> dict[str, Any]:
    """A call as `calls list --json` and `calls show --json` print it (number masked)."""
    return {
        "id": row.id,
        "type": row.call_type,
        "to_number": _masked_number(row),
        "state": row.state,
        "upstream_status": row.upstream_status,
        "agent": {"id": row.agent_id, "name": row.agent_name},
        "origin": {"kind": row.origin_kind, "name": row.origin_name},
        "created_at": iso(row.created_at),
        "live_at": iso(row.live_at),
        "ended_at": iso(row.ended_at),
        "last_error": row.last_error,
    }


@calls_cli.command("list")
def list_calls(
    state: Annotated[
        str | None, typer.Option(help=f"only calls in this state ({', '.join(STATES)})")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    as_json: JsonOption = False,
) -> None:
    """The newest calls with their state."""
    if state is not None and state not in STATES:
        fail(f"--state {state!r} is not a call state; use one of: {', '.join(STATES)}")

    async def work(db: Database) -> list[CallRow]:
        # Lazily (start-up speed): the store's repositories.
        from gateway.store.calls import CallRepository

        async with db.session() as session:
            return list(await CallRepository(session).recent(limit=limit, state=state))

    rows = run_with_store(work)
    if as_json:
        print_json([_call_json(r) for r in rows])
        return
    if not rows:
        typer.echo("no calls")
        return
    cells = [
        [
            r.id,
            _kind(r),
            r.state,
            r.agent_name or r.agent_id,
            f"{r.origin_kind}:{r.origin_name}",
            when(r.created_at),
            (r.last_error or "")[:60],
        ]
        for r in rows
    ]
    headers = ["CALL", "TYPE", "STATE", "AGENT", "ORIGIN", "CREATED", "LAST ERROR"]
    typer.echo(table(cells, headers))


@calls_cli.command("show")
def show_call(
    call_id: Annotated[str, typer.Argument(help="the call id")],
    as_json: JsonOption = False,
) -> None:
    """A call's whole history: transitions, deliveries, their attempts and last errors."""

    async def work(db: Database) -> dict[str, Any]:
        # Lazily (start-up speed): the store's repositories.
        from gateway.store.calls import CallRepository
        from gateway.store.deliveries import DeliveryRepository

        async with db.session() as session:
            calls = CallRepository(session)
            row = await calls.get(call_id)
            if row is None:
                raise CommandError(f"unknown call {call_id!r}")
            events = await calls.events(call_id)
            deliveries_repo = DeliveryRepository(session)
            deliveries = await deliveries_repo.for_call(call_id)
            attempts = {d.id: await deliveries_repo.attempts(d.id) for d in deliveries}
        result = row.result or {}
        return {
            **_call_json(row),
            "outcome": result.get("outcome"),
            "summary": result.get("summary"),
            "transitions": [
                {"at": iso(e.at), "from": e.from_state, "to": e.to_state, "detail": e.detail}
                for e in events
            ],
            "deliveries": [
                {
                    "id": d.id,
                    "destination": d.destination,
                    "target": _target(d),
                    "state": d.state,
                    "attempts": d.attempts,
                    "next_attempt_at": iso(d.next_attempt_at),
                    "last_error": d.last_error,
                    "tries": [
                        {
                            "at": iso(a.at),
                            "status": a.status_code,
                            "duration_ms": a.duration_ms,
                            "error": a.error,
                            "signed_by": list(a.signed_by or []),
                        }
                        for a in attempts[d.id]
                    ],
                }
                for d in deliveries
            ],
        }

    call = run_with_store(work)
    if as_json:
        print_json(call)
        return
    typer.echo("\n".join(_show_lines(call)))


def _show_lines(call: dict[str, Any]) -> list[str]:
    """`calls show` for people, from the same document `--json` prints."""
    number = f" {call['to_number'] or '?'}" if call["type"] == "outbound" else ""
    out = [
        f"call        {call['id']}",
        f"state       {call['state']}",
        f"type        {call['type']}{number}",
        f"agent       {call['agent']['name'] or '-'} ({call['agent']['id']})",
        f"origin      {call['origin']['kind']}:{call['origin']['name']}",
        f"upstream    {call['upstream_status'] or '-'}",
        f"created     {_text_time(call['created_at'])}",
        f"ended       {_text_time(call['ended_at'])}",
        f"last error  {call['last_error'] or '-'}",
    ]
    if call["outcome"] is not None or call["summary"] is not None:
        out.append(f"outcome     {call['outcome'] or '-'}")
        out.append(f"summary     {call['summary'] or '-'}")
    out += ["", "transitions"]
    for event in call["transitions"]:
        out.append(
            f"  {_text_time(event['at'])}  {event['from'] or '-'} -> {event['to']}"
            f"  {event['detail'] or ''}".rstrip()
        )
    out += ["", "deliveries" if call["deliveries"] else "deliveries  none yet"]
    for d in call["deliveries"]:
        out.append(f"  {d['id']}  {d['destination']}  {d['state']}  attempts={d['attempts']}")
        out.append(f"    target      {d['target']}")
        out.append(f"    last error  {d['last_error'] or '-'}")
        for a in d["tries"]:
            status = a["status"] if a["status"] is not None else "-"
            signed = f"  signed by {' '.join(a['signed_by'])}" if a["signed_by"] else ""
            out.append(
                f"    try {_text_time(a['at'])}  status={status}  {a['duration_ms'] or 0} ms"
                f"  {a['error'] or 'ok'}{signed}"
            )
    return out


def _text_time(value: str | None) -> str:
    """An ISO time of the JSON document as the tables show times."""
    return value.replace("T", " ").removesuffix("Z")[:19] if value else "-"


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
    as_json: JsonOption = False,
) -> None:
    """The most recently changed deliveries."""

    async def work(db: Database) -> list[dict[str, Any]]:
        # Lazily (start-up speed): the store's repositories.
        from gateway.store.deliveries import DeliveryRepository

        async with db.session() as session:
            repo = DeliveryRepository(session)
            rows = await repo.recent(failed_only=failed, limit=limit)
            signed = await repo.last_signed_by([d.id for d in rows])
        return [
            {
                "id": d.id,
                "call_id": d.call_id,
                "destination": d.destination,
                "target": _target(d),
                "state": d.state,
                "attempts": d.attempts,
                "next_attempt_at": iso(d.next_attempt_at),
                "signed_by": list(signed.get(d.id, [])),
                "last_error": d.last_error,
            }
            for d in rows
        ]

    found = run_with_store(work)
    if as_json:
        print_json(found)
        return
    if not found:
        typer.echo("no failed deliveries" if failed else "no deliveries")
        return
    cells = [
        [
            d["id"],
            d["call_id"],
            d["destination"],
            d["state"],
            str(d["attempts"]),
            _text_time(d["next_attempt_at"]),
            " ".join(d["signed_by"]) or "-",
            (d["last_error"] or "")[:60],
        ]
        for d in found
    ]
    headers = ["DELIVERY", "CALL", "DESTINATION", "STATE", "TRIES", "NEXT TRY", "SIGNED BY"]
    typer.echo(table(cells, [*headers, "LAST ERROR"]))


@deliveries_cli.command("replay")
def replay(delivery_id: Annotated[str, typer.Argument(help="the delivery id (msg_…)")]) -> None:
    """Bring a dead, disabled or failing delivery back: pending, due now, same id."""

    async def work(db: Database) -> str:
        # Lazily (start-up speed): the delivery domain.
        from gateway.delivery.replay import (
            NotReplayableError,
            UnknownDeliveryError,
            replay_delivery,
        )

        try:
            row = await replay_delivery(db, delivery_id, by="cli")
        except (UnknownDeliveryError, NotReplayableError) as exc:
            raise CommandError(str(exc)) from None
        return row.id

    replayed = run_with_store(work)
    typer.echo(f"{replayed} is pending again; a running gateway delivers it within seconds")
