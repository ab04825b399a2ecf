"""Idempotency keys and start intents: a repeated request gets the first answer, starts nothing.

A key is claimed with one `INSERT … ON CONFLICT DO NOTHING` on the `(scope, key)` unique
constraint, so of two concurrent identical requests exactly one wins, on SQLite as on
PostgreSQL. The same row is the start's *intent*: written before OneInbox is asked, with the
`start_id` the call carries in its metadata. Then one of:

- `record`: the call is stored (with its first event and join link) and the key's answer
  written, in one transaction;
- `release`: OneInbox certainly started nothing, the key is free for a clean retry;
- neither (the process died, the answer never came, the store failed): the intent stays
  `in_progress`, a repeat answers 409 with `Retry-After`, and the reconciler resolves it by
  looking the start id up upstream (`adopt` the call it finds, or `release`).

Every function here is a *unit* for `Database.write`: a plain function of a synchronous
connection, committed with other requests' units in one transaction.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from gateway.store.prepared import Prepared
from gateway.store.record_statement import record_in_one
from gateway.store.tables import CallEventRow, CallRow, IdempotencyKeyRow, JoinLinkRow, utcnow

KEY_LIFETIME = timedelta(hours=24)
MAX_KEY_LENGTH = 300
KEYS: sa.Table = IdempotencyKeyRow.__table__  # type: ignore[assignment]
CALLS: sa.Table = CallRow.__table__  # type: ignore[assignment]
EVENTS: sa.Table = CallEventRow.__table__  # type: ignore[assignment]
LINKS: sa.Table = JoinLinkRow.__table__  # type: ignore[assignment]


def request_hash(raw: bytes) -> str:
    """The fingerprint that tells a true repeat from a different request under the same key."""
    return hashlib.sha256(raw).hexdigest()


def stored_key(key: str) -> str:
    """Keys longer than the column are kept as their hash, so long keys never collide."""
    if len(key) <= MAX_KEY_LENGTH:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def new_start_id(prefix: str) -> str:
    """A start id: `prefix`, the time in milliseconds (hex), then 90 random bits.

    Time first so that each new id sorts after the last: its unique index grows at its end,
    one page for a whole write batch, where random ids dirtied a page of the index per start
    (each a 4 KiB frame in SQLite's write-ahead log). The ids are unique, never secret: they
    travel in the call's metadata.
    """
    return f"{prefix}{time.time_ns() // 1_000_000:011x}{secrets.token_urlsafe(15)}"


@dataclass(frozen=True)
class Claim:
    """The outcome of `claim`.

    `claimed`: this request owns the key and may act. `replay`: a finished earlier request;
    answer with `status` and `body`. `in_progress`: the first request is unresolved; retry
    after `retry_after` seconds. `mismatch`: the key was used for a different request body.
    """

    outcome: Literal["claimed", "replay", "in_progress", "mismatch"]
    status: int | None = None
    body: dict[str, Any] | None = None
    retry_after: float | None = None
    start_id: str | None = None


@dataclass(frozen=True)
class Intent:
    """What is stored before the upstream call: enough to find, track and deliver the call."""

    scope: str
    key: str
    fingerprint: str
    start_id: str
    agent_id: str
    detail: dict[str, Any]  # agent_name, origin_*, destinations


# The hot path's statements, built once and executed with a dict of parameters (see
# `Prepared`; building `.values(**row)` per request cost more than running the statement).
_CLAIM = {
    "postgresql": Prepared(
        postgresql.insert(KEYS).on_conflict_do_nothing(index_elements=["scope", "key"])
    ),
    "sqlite": Prepared(sqlite.insert(KEYS).on_conflict_do_nothing(index_elements=["scope", "key"])),
}
_FINISH = Prepared(
    sa.update(KEYS)
    .where(KEYS.c.start_id == sa.bindparam("w_start_id"), KEYS.c.state == "in_progress")
    .values(
        state="done",
        call_id=sa.bindparam("w_call_id"),
        response_status=sa.bindparam("w_status"),
        response_body=sa.bindparam("w_body", type_=sa.JSON),
    )
)
_INSERT_CALL = Prepared(sa.insert(CALLS))
_INSERT_EVENT = Prepared(sa.insert(EVENTS))
_INSERT_LINK = Prepared(sa.insert(LINKS))


def _insert(conn: sa.Connection, values: dict[str, Any]) -> int:
    """Rows inserted: 1, or 0 when the key is taken."""
    return _CLAIM[conn.dialect.name].execute(conn, values)


def claim(conn: sa.Connection, intent: Intent, *, grace: float) -> Claim:
    """Take the key and store the intent in one statement, or say why not (see `Claim`).

    `grace`: how long an unresolved intent is left to its own request before the reconciler
    resolves it; a repeat meanwhile is told to come back after what remains of it.
    """
    key = stored_key(intent.key)
    now = utcnow()
    values = {
        "scope": intent.scope,
        "key": key,
        "request_hash": intent.fingerprint,
        "state": "in_progress",
        "created_at": now,
        "expires_at": now + KEY_LIFETIME,
        "start_id": intent.start_id,
        "agent_id": intent.agent_id,
        "intent": intent.detail,
    }
    for _ in range(2):
        if _insert(conn, values) == 1:
            return Claim("claimed", start_id=intent.start_id)
        row = conn.execute(
            sa.select(KEYS).where(KEYS.c.scope == intent.scope, KEYS.c.key == key)
        ).first()
        if row is None:
            continue  # released between our insert and our read: try once more
        if row.expires_at <= now:
            conn.execute(sa.delete(KEYS).where(KEYS.c.id == row.id, KEYS.c.expires_at <= now))
            continue
        if row.request_hash != intent.fingerprint:
            return Claim("mismatch")
        if row.state != "done":
            return Claim("in_progress", retry_after=_retry_after(row.created_at, now, grace))
        return Claim("replay", status=row.response_status, body=row.response_body)
    return Claim("in_progress", retry_after=1.0)


def _retry_after(created_at: datetime, now: datetime, grace: float) -> float:
    remaining = grace - (now - created_at).total_seconds()
    return max(1.0, remaining + 1.0)


@dataclass(frozen=True)
class Recorded:
    """The outcome of `record`: `recorded` as asked, `resolved` (the reconciler adopted the
    call first: `body` is the stored answer), or `orphan` (the intent was gone; the call was
    stored anyway so that it is tracked and delivered)."""

    outcome: Literal["recorded", "resolved", "orphan"]
    body: dict[str, Any] | None = None


def record(
    conn: sa.Connection,
    *,
    start_id: str,
    call: dict[str, Any],
    link: dict[str, Any] | None,
    status: int,
    body: dict[str, Any],
    detail: str,
) -> Recorded:
    """Store the call, its first event and join link, and the key's answer, together."""
    if conn.dialect.name == "postgresql":  # one round trip, not four (the usual case)
        recorded = record_in_one(
            conn, start_id=start_id, call=call, link=link, status=status, body=body, detail=detail
        )
        if recorded:
            return Recorded("recorded")
    done = _finish(conn, start_id, call["id"], status, body)
    if done != 1:
        row = conn.execute(sa.select(KEYS).where(KEYS.c.start_id == start_id)).first()
        if row is not None and row.call_id == call["id"]:
            return Recorded("resolved", row.response_body)
        if conn.execute(sa.select(CALLS.c.id).where(CALLS.c.id == call["id"])).first():
            return Recorded("orphan")
    _insert_call(conn, call, detail)
    if link is not None:
        _INSERT_LINK.execute(conn, link)
    return Recorded("recorded" if done == 1 else "orphan")


def _finish(
    conn: sa.Connection, start_id: str, call_id: str | None, status: int, body: dict[str, Any]
) -> int:
    """Mark the intent `start_id` done with its answer (if it is still in progress)."""
    params = {"w_start_id": start_id, "w_call_id": call_id, "w_status": status, "w_body": body}
    return _FINISH.execute(conn, params)


def _insert_call(conn: sa.Connection, call: dict[str, Any], detail: str) -> None:
    _INSERT_CALL.execute(conn, call)
    event = {
        "call_id": call["id"],
        "from_state": None,
        "to_state": call["state"],
        "detail": detail,
        "at": call["created_at"],
    }
    _INSERT_EVENT.execute(conn, event)


def complete(conn: sa.Connection, *, start_id: str, status: int, body: dict[str, Any]) -> None:
    """Write the key's answer (the start created no call of its own: e.g. an agent)."""
    conn.execute(
        sa.update(KEYS)
        .where(KEYS.c.start_id == start_id)
        .values(state="done", response_status=status, response_body=body)
    )


def release(conn: sa.Connection, start_id: str) -> bool:
    """Give the key back: OneInbox started nothing, so a retry may try again."""
    result = conn.execute(
        sa.delete(KEYS).where(KEYS.c.start_id == start_id, KEYS.c.state == "in_progress")
    )
    return bool(result.rowcount == 1)


def adopt(
    conn: sa.Connection, *, start_id: str, call: dict[str, Any], body: dict[str, Any]
) -> bool:
    """Resolve an intent with the call found upstream: store it (to be tracked and
    delivered) and make it the key's answer. False when something else resolved it first."""
    if _finish(conn, start_id, call["id"], 202, body) != 1:
        return False
    if conn.execute(sa.select(CALLS.c.id).where(CALLS.c.id == call["id"])).first() is None:
        _insert_call(conn, call, "adopted by the reconciler")
    return True


def unresolved(conn: sa.Connection, *, older_than: datetime, limit: int = 100) -> list[Any]:
    """Intents still `in_progress` that were made before `older_than`, oldest first."""
    return list(
        conn.execute(
            sa.select(KEYS)
            .where(
                KEYS.c.state == "in_progress",
                KEYS.c.created_at < older_than,
                KEYS.c.start_id.is_not(None),
            )
            .order_by(KEYS.c.created_at)
            .limit(limit)
        ).all()
    )


def remember(
    conn: sa.Connection, *, scope: str, key: str, status: int, body: dict[str, Any]
) -> bool:
    """Keep a finished answer under `key` (no start behind it); False if the key was taken."""
    now = utcnow()
    values = {
        "scope": scope,
        "key": stored_key(key),
        "request_hash": "",
        "state": "done",
        "response_status": status,
        "response_body": body,
        "created_at": now,
        "expires_at": now + KEY_LIFETIME,
    }
    return _insert(conn, values) == 1


def is_done(conn: sa.Connection, *, scope: str, key: str) -> bool:
    """True when a finished, unexpired answer is kept under this key."""
    row = conn.execute(
        sa.select(KEYS.c.state, KEYS.c.expires_at).where(
            KEYS.c.scope == scope, KEYS.c.key == stored_key(key)
        )
    ).first()
    return row is not None and row.state == "done" and row.expires_at > utcnow()


def purge_expired(conn: sa.Connection) -> int:
    """Delete finished keys past their lifetime; returns how many went.

    An unresolved intent is never purged: the reconciler resolves it first.
    """
    result = conn.execute(
        sa.delete(KEYS).where(KEYS.c.expires_at <= utcnow(), KEYS.c.state == "done")
    )
    return int(result.rowcount or 0)
