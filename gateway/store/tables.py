"""The gateway's tables. The store is the truth: every row is written before it is acted on."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    """Now, timezone-aware in UTC: the only kind of time the store holds."""
    return datetime.now(UTC)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC, on SQLite as on PostgreSQL."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use gateway.store.utcnow()")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: sa.JSON, list[Any]: sa.JSON}


class AgentRow(Base):
    """An agent the gateway knows by name (alias), created here or configured."""

    __tablename__ = "agents"

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    llm_id: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CallRow(Base):
    """A call the gateway started and follows to its end (see gateway.calls.states)."""

    __tablename__ = "calls"

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    agent_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    agent_name: Mapped[str | None] = mapped_column(sa.String(200))
    origin_kind: Mapped[str] = mapped_column(sa.String(32))  # slack | hook | admin | dashboard
    origin_name: Mapped[str] = mapped_column(sa.String(200))
    origin_context: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Where the result goes: [{"kind": "callback", ...}, {"kind": "slack", ...}, ...]
    destinations: Mapped[list[Any]] = mapped_column(default=list)
    state: Mapped[str] = mapped_column(sa.String(16), index=True)
    # `web` (a join link) or `outbound` (a phone call to `to_number`, E.164).
    call_type: Mapped[str] = mapped_column(sa.String(16), default="web", server_default="web")
    to_number: Mapped[str | None] = mapped_column(sa.String(32))
    upstream_status: Mapped[str | None] = mapped_column(sa.String(32))
    result: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    live_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    # Polling: when to look at the call next, and how often it has been looked at.
    next_poll_at: Mapped[datetime | None] = mapped_column(index=True)
    poll_count: Mapped[int] = mapped_column(default=0)
    lease_owner: Mapped[str | None] = mapped_column(sa.String(64))
    lease_expires_at: Mapped[datetime | None]


class CallEventRow(Base):
    """One transition of a call's state, written before the gateway acts on it."""

    __tablename__ = "call_events"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    call_id: Mapped[str] = mapped_column(sa.ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    from_state: Mapped[str | None] = mapped_column(sa.String(16))
    to_state: Mapped[str] = mapped_column(sa.String(16))
    detail: Mapped[str | None] = mapped_column(sa.Text)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class JoinLinkRow(Base):
    """An opaque, expiring link to a call's join page; the credentials are encrypted."""

    __tablename__ = "join_links"

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    call_id: Mapped[str] = mapped_column(sa.ForeignKey("calls.id", ondelete="CASCADE"), unique=True)
    agent_name: Mapped[str | None] = mapped_column(sa.String(200))
    server_url_enc: Mapped[str | None] = mapped_column(sa.Text)
    participant_token_enc: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    purged_at: Mapped[datetime | None]


class DeliveryRow(Base):
    """The outbox: one row per (call, destination), delivered at least once with a stable id."""

    __tablename__ = "deliveries"
    __table_args__ = (
        sa.UniqueConstraint("call_id", "destination_key", name="uq_delivery_dest"),
        # The outbox's claim (pending, due, earliest first) walks it and stops at its limit;
        # by `state` alone SQLite sorted every pending delivery on each claim. It also serves
        # what looked deliveries up by state.
        sa.Index("ix_deliveries_state_next_attempt_at", "state", "next_attempt_at"),
    )

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)  # the webhook-id
    call_id: Mapped[str] = mapped_column(sa.ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    destination: Mapped[str] = mapped_column(sa.String(32))  # registry name: callback, slack, log
    destination_key: Mapped[str] = mapped_column(sa.String(512))  # identifies the target
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)  # never a secret, only *_env
    state: Mapped[str] = mapped_column(sa.String(16))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(index=True)
    lease_owner: Mapped[str | None] = mapped_column(sa.String(64))
    lease_expires_at: Mapped[datetime | None]
    last_status: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    delivered_at: Mapped[datetime | None]


class DeliveryAttemptRow(Base):
    """One try of a delivery, kept for the operator."""

    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(
        sa.ForeignKey("deliveries.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)
    status_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(sa.Text)
    duration_ms: Mapped[int | None]
    worker: Mapped[str | None] = mapped_column(sa.String(64))
    # Fingerprints (`whsec:1a2b3c4d`) of the secrets that signed this try, never the secrets.
    signed_by: Mapped[list[Any] | None] = mapped_column(sa.JSON)


class EndpointRow(Base):
    """One place results go (a destination kind and its target, e.g. one callback URL), and
    its health: failing since when, disabled or not. Rows appear when a delivery is queued."""

    __tablename__ = "endpoints"
    __table_args__ = (
        sa.UniqueConstraint("destination", "destination_key", name="uq_endpoint_target"),
    )

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)  # dst_…
    destination: Mapped[str] = mapped_column(sa.String(32))
    destination_key: Mapped[str] = mapped_column(sa.String(512))
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)  # the last queued, secret-free
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_success_at: Mapped[datetime | None]
    last_failure_at: Mapped[datetime | None]
    # Set by the first failed try after a success (or ever), cleared by the next success.
    failing_since: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    disabled_at: Mapped[datetime | None] = mapped_column(index=True)
    disabled_reason: Mapped[str | None] = mapped_column(sa.Text)
    enabled_at: Mapped[datetime | None]
    enabled_by: Mapped[str | None] = mapped_column(sa.String(64))


class IdempotencyKeyRow(Base):
    """A request key per scope (hook name): a repeat gets the first answer and starts nothing.

    A row is also the intent of a call start, written before OneInbox is asked: `start_id`
    (sent in the call's metadata), the agent, and what the call needs to be tracked and
    delivered (`intent`). `call_id` is set once the call is recorded. Starts without a key of
    their own use their start id as the key (scope `start:<origin>`).
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        sa.UniqueConstraint("scope", "key", name="uq_idempotency_scope_key"),
        sa.UniqueConstraint("start_id", name="uq_idempotency_keys_start_id"),
        sa.Index("ix_idempotency_keys_state_created", "state", "created_at"),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(sa.String(200))
    key: Mapped[str] = mapped_column(sa.String(300))
    request_hash: Mapped[str] = mapped_column(sa.String(64))
    state: Mapped[str] = mapped_column(sa.String(16))  # in_progress | done
    response_status: Mapped[int | None]
    response_body: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    start_id: Mapped[str | None] = mapped_column(sa.String(64))
    agent_id: Mapped[str | None] = mapped_column(sa.String(64))
    intent: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    call_id: Mapped[str | None] = mapped_column(sa.String(64))


class TranscriptTurnRow(Base):
    """One turn of a call's conversation as it is spoken; `version` grows with every change."""

    __tablename__ = "transcript_turns"

    call_id: Mapped[str] = mapped_column(
        sa.ForeignKey("calls.id", ondelete="CASCADE"), primary_key=True
    )
    turn: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    role: Mapped[str | None] = mapped_column(sa.String(32))
    text: Mapped[str] = mapped_column(sa.Text, default="")
    final: Mapped[bool] = mapped_column(default=False)
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class LiveFeedRow(Base):
    """A live destination of one call (e.g. its Slack thread) and what it has shown so far.

    Due while `wanted` > `synced`: every transcript change bumps `wanted`; a worker that holds
    the lease shows the turns and sets `synced` to the `wanted` it started from, so a change
    that arrives meanwhile is never lost. `next_attempt_at` spaces the syncs (coalescing) and
    carries a destination's `Retry-After`. `shown` is the destination's own memory (message
    ids and versions per turn).
    """

    __tablename__ = "live_feeds"
    __table_args__ = (sa.UniqueConstraint("call_id", "destination_key", name="uq_live_feed_dest"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    call_id: Mapped[str] = mapped_column(sa.ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    destination: Mapped[str] = mapped_column(sa.String(32))
    destination_key: Mapped[str] = mapped_column(sa.String(512))
    wanted: Mapped[int] = mapped_column(default=0)
    synced: Mapped[int] = mapped_column(default=0)
    shown: Mapped[dict[str, Any]] = mapped_column(default=dict)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    lease_owner: Mapped[str | None] = mapped_column(sa.String(64))
    lease_expires_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class UsageCounterRow(Base):
    """How many calls one subject started in one window (a day), for the limits.

    `scope` says what is counted (`gateway`, `hook`, `slack_user`), `subject` whose count it
    is (a hook name, `team/user`, `*`), `kind` which calls (`all` or `phone`), `period` the
    day (`YYYY-MM-DD` in the limits' time zone). Rows are taken with one conditional upsert.
    """

    __tablename__ = "usage_counters"

    scope: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    subject: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    period: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    used: Mapped[int] = mapped_column(default=0)
    resets_at: Mapped[datetime] = mapped_column(index=True)


class LiveCallHoldRow(Base):
    """A call being started right now: it holds a place under the cap on live calls until it
    is stored as a call (or fails). Expires on its own if its process dies meanwhile."""

    __tablename__ = "live_call_holds"

    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)
