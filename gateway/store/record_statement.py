"""PostgreSQL: a start's record (the key's answer, the call, its first event, its join link)
in one statement instead of four.

Each statement of a write batch is a round trip to the server, and on PostgreSQL a batch's
units run one after another: four statements per start made the record the longest part of
the hooks' batches. Data-modifying CTEs do it in one: the key is marked done (only while its
intent is still in progress), and the call, its event and its link are inserted only if that
happened. Foreign keys are checked at the end of the statement, so the event and the link
may name the call inserted beside them. When the key was not marked (the reconciler got there
first, or the intent is gone), nothing is inserted and `idempotency.record` takes its slower
path, as on SQLite.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from gateway.store.prepared import Prepared, client_default
from gateway.store.tables import CallEventRow, CallRow, IdempotencyKeyRow, JoinLinkRow

KEYS: sa.Table = IdempotencyKeyRow.__table__  # type: ignore[assignment]
CALLS: sa.Table = CallRow.__table__  # type: ignore[assignment]
EVENTS: sa.Table = CallEventRow.__table__  # type: ignore[assignment]
LINKS: sa.Table = JoinLinkRow.__table__  # type: ignore[assignment]

# (the call's columns, the link's columns or None) -> the statement
_STATEMENTS: dict[tuple[tuple[str, ...], tuple[str, ...] | None], Prepared] = {}


def record_in_one(
    conn: sa.Connection,
    *,
    start_id: str,
    call: Mapping[str, Any],
    link: Mapping[str, Any] | None,
    status: int,
    body: dict[str, Any],
    detail: str,
) -> bool:
    """True when the intent was in progress and everything is written; False when nothing
    was (the caller then looks at why)."""
    call_values = _with_defaults(CALLS, call)
    link_values = _with_defaults(LINKS, link) if link is not None else None
    shape = (tuple(call_values), tuple(link_values) if link_values is not None else None)
    statement = _STATEMENTS.get(shape)
    if statement is None:
        statement = _STATEMENTS[shape] = Prepared(_build(*shape))
    params: dict[str, Any] = {
        "w_start_id": start_id,
        "w_call_id": call["id"],
        "w_status": status,
        "w_body": body,
        "e_to_state": call["state"],
        "e_detail": detail,
        "e_at": call["created_at"],
    }
    params.update({"c_" + key: value for key, value in call_values.items()})
    if link_values is not None:
        params.update({"l_" + key: value for key, value in link_values.items()})
    row = statement.first(conn, params)
    return row is not None and int(row[0]) == 1


def _with_defaults(table: sa.Table, values: Mapping[str, Any]) -> dict[str, Any]:
    """`values` and what SQLAlchemy would fill in for the other columns on an INSERT (their
    Python-side defaults); an INSERT … SELECT gets none of those by itself."""
    full = dict(values)
    for column in table.columns:
        if column.key not in full:
            default = client_default(column.default)
            if default is not None:
                full[column.key] = default()
    return full


def _build(call_keys: tuple[str, ...], link_keys: tuple[str, ...] | None) -> sa.Select[Any]:
    done = (
        sa.update(KEYS)
        .where(KEYS.c.start_id == sa.bindparam("w_start_id"), KEYS.c.state == "in_progress")
        .values(
            state="done",
            call_id=sa.bindparam("w_call_id"),
            response_status=sa.bindparam("w_status"),
            response_body=sa.bindparam("w_body", type_=sa.JSON),
        )
        .returning(KEYS.c.id)
        .cte("done_key")
    )
    call_row = sa.select(*_binds(CALLS, "c_", call_keys)).where(sa.exists(sa.select(done.c.id)))
    new_call = (
        sa.insert(CALLS)
        .from_select(list(call_keys), call_row)
        .returning(CALLS.c.id)
        .cte("new_call")
    )
    event_row = sa.select(
        new_call.c.id,
        sa.bindparam("e_to_state", type_=EVENTS.c.to_state.type),
        sa.bindparam("e_detail", type_=EVENTS.c.detail.type),
        sa.bindparam("e_at", type_=EVENTS.c.at.type),
    )
    new_event = (
        sa.insert(EVENTS)
        .from_select(["call_id", "to_state", "detail", "at"], event_row)
        .returning(EVENTS.c.id)
        .cte("new_event")
    )
    ctes = [new_call, new_event]
    if link_keys is not None:
        link_row = sa.select(*_binds(LINKS, "l_", link_keys)).where(
            sa.exists(sa.select(new_call.c.id))
        )
        new_link = (
            sa.insert(LINKS)
            .from_select(list(link_keys), link_row)
            .returning(LINKS.c.id)
            .cte("new_link")
        )
        ctes.append(new_link)
    return sa.select(sa.func.count()).select_from(done).add_cte(*ctes)


def _binds(table: sa.Table, prefix: str, keys: tuple[str, ...]) -> list[sa.BindParameter[Any]]:
    return [sa.bindparam(prefix + key, type_=table.c[key].type) for key in keys]
