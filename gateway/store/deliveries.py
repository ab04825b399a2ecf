"""The outbox's rows: deliveries of call results and the tries made for each."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.store.endpoints import disabled_target
from gateway.store.tables import DeliveryAttemptRow, DeliveryRow, utcnow


class DeliveryState(StrEnum):
    PENDING = "pending"  # due at next_attempt_at (or waiting for its destination to exist)
    DELIVERED = "delivered"  # the destination accepted it
    DEAD = "dead"  # every try of the schedule failed, or the failure is permanent
    DISABLED = "disabled"  # the destination said it is gone (HTTP 410)
    HELD = "held"  # its endpoint is disabled (failing too long); due again once re-enabled


FINAL_STATES = frozenset({DeliveryState.DELIVERED, DeliveryState.DEAD, DeliveryState.DISABLED})
# Deliveries the outbox is not trying (for `deliveries list --failed`).
GAVE_UP_STATES = (DeliveryState.DEAD, DeliveryState.DISABLED, DeliveryState.HELD)
# What an operator may bring back with `deliveries replay`.
REPLAYABLE_STATES = frozenset({DeliveryState.PENDING, DeliveryState.DEAD, DeliveryState.DISABLED})


def delivery_id(call_id: str, destination_key: str) -> str:
    """The stable id of (call, destination): the callback's `webhook-id`."""
    digest = hashlib.sha256(f"{call_id}\n{destination_key}".encode()).hexdigest()
    return f"msg_{digest[:32]}"


@dataclass(frozen=True)
class ClaimedDelivery:
    """A delivery this worker holds a lease on; `uncertain` when an earlier try's fate is
    unknown (its worker died or timed out mid-flight)."""

    row: DeliveryRow
    uncertain: bool


def due_deliveries(now: datetime, limit: int, skip_locked: bool) -> sa.Select[Any]:
    """Pending deliveries due at `now` whose lease (if any) ran out, earliest first; none
    whose endpoint is disabled. On SQLite it walks `ix_deliveries_state_next_attempt_at` and
    stops at `limit` (tests/store/test_delivery_claim.py checks the plan)."""
    stmt = (
        sa.select(DeliveryRow)
        .where(
            DeliveryRow.state == str(DeliveryState.PENDING),
            DeliveryRow.next_attempt_at <= now,
            sa.or_(DeliveryRow.lease_expires_at.is_(None), DeliveryRow.lease_expires_at <= now),
            ~disabled_target(),
        )
        .order_by(DeliveryRow.next_attempt_at)
        .limit(limit)
    )
    return stmt.with_for_update(skip_locked=True) if skip_locked else stmt


class DeliveryRepository:
    """Queries of the `deliveries` and `delivery_attempts` tables."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self,
        call_id: str,
        destination: str,
        key: str,
        config: dict[str, Any],
        *,
        now: datetime,
        held: bool = False,
    ) -> DeliveryRow:
        """Queue one delivery, due now (or `held` while its endpoint is disabled)."""
        row = DeliveryRow(
            id=delivery_id(call_id, key),
            call_id=call_id,
            destination=destination,
            destination_key=key,
            config=config,
            state=str(DeliveryState.HELD if held else DeliveryState.PENDING),
            attempts=0,
            next_attempt_at=None if held else now,
            created_at=now,
        )
        self.session.add(row)
        await self.session.flush()
        return row

    async def claim_due(
        self, owner: str, *, limit: int, lease: timedelta, skip_locked: bool
    ) -> list[ClaimedDelivery]:
        """Lease up to `limit` due deliveries for `owner`.

        On PostgreSQL the rows are chosen with `FOR UPDATE SKIP LOCKED`, so replicas never
        claim the same row; a lease that ran out (its worker died) makes the row due again.
        A row whose endpoint is disabled is never claimed (it is being moved to `held`).
        """
        now = utcnow()
        stmt = due_deliveries(now, limit, skip_locked)
        rows = list((await self.session.execute(stmt)).scalars().all())
        claimed: list[ClaimedDelivery] = []
        for row in rows:
            # A lease still named means the last worker never reported back.
            uncertain = row.lease_owner is not None or (
                row.attempts > 0 and row.last_status is None
            )
            row.lease_owner = owner
            row.lease_expires_at = now + lease
            claimed.append(ClaimedDelivery(row, uncertain))
        await self.session.flush()
        return claimed

    async def add_attempt(
        self,
        delivery_id: str,
        *,
        at: datetime,
        status_code: int | None,
        error: str | None,
        duration_ms: int,
        worker: str,
        signed_by: list[str] | None,
    ) -> None:
        """Record one try of a delivery (kept for the dashboard, `ops` and replays)."""
        self.session.add(
            DeliveryAttemptRow(
                delivery_id=delivery_id,
                at=at,
                status_code=status_code,
                error=error,
                duration_ms=duration_ms,
                worker=worker,
                signed_by=signed_by,
            )
        )

    async def get(self, delivery_id: str, *, for_update: bool = False) -> DeliveryRow | None:
        stmt = sa.select(DeliveryRow).where(DeliveryRow.id == delivery_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def for_call(self, call_id: str) -> Sequence[DeliveryRow]:
        result = await self.session.execute(
            sa.select(DeliveryRow)
            .where(DeliveryRow.call_id == call_id)
            .order_by(DeliveryRow.created_at, DeliveryRow.id)
        )
        return result.scalars().all()

    async def attempts(self, delivery_id: str) -> Sequence[DeliveryAttemptRow]:
        result = await self.session.execute(
            sa.select(DeliveryAttemptRow)
            .where(DeliveryAttemptRow.delivery_id == delivery_id)
            .order_by(DeliveryAttemptRow.id)
        )
        return result.scalars().all()

    async def attempts_of(self, ids: Sequence[str]) -> dict[str, list[DeliveryAttemptRow]]:
        """Delivery id → its tries, oldest first (deliveries without a try are left out)."""
        if not ids:
            return {}
        result = await self.session.execute(
            sa.select(DeliveryAttemptRow)
            .where(DeliveryAttemptRow.delivery_id.in_(list(ids)))
            .order_by(DeliveryAttemptRow.id)
        )
        found: dict[str, list[DeliveryAttemptRow]] = {}
        for attempt in result.scalars():
            found.setdefault(attempt.delivery_id, []).append(attempt)
        return found

    async def last_signed_by(self, ids: Sequence[str]) -> dict[str, list[str]]:
        """Delivery id → fingerprints of the secrets that signed its latest try (if signed)."""
        if not ids:
            return {}
        latest = (
            sa.select(sa.func.max(DeliveryAttemptRow.id))
            .where(DeliveryAttemptRow.delivery_id.in_(list(ids)))
            .group_by(DeliveryAttemptRow.delivery_id)
        )
        result = await self.session.execute(
            sa.select(DeliveryAttemptRow.delivery_id, DeliveryAttemptRow.signed_by).where(
                DeliveryAttemptRow.id.in_(latest)
            )
        )
        return {delivery: list(signed) for delivery, signed in result.all() if signed}

    async def recent(
        self, *, failed_only: bool = False, limit: int = 50, offset: int = 0
    ) -> Sequence[DeliveryRow]:
        """Newest first. `failed_only`: dead, disabled, held, or pending after a failed try."""
        stmt = sa.select(DeliveryRow).order_by(DeliveryRow.updated_at.desc(), DeliveryRow.id)
        if failed_only:
            stmt = stmt.where(
                sa.or_(
                    DeliveryRow.state.in_([str(s) for s in GAVE_UP_STATES]),
                    sa.and_(
                        DeliveryRow.state == str(DeliveryState.PENDING),
                        DeliveryRow.last_error.is_not(None),
                    ),
                )
            )
        result = await self.session.execute(stmt.limit(limit).offset(offset))
        return result.scalars().all()

    async def newest(
        self, *, limit: int, offset: int = 0, state: str | None = None, gave_up: bool = False
    ) -> Sequence[DeliveryRow]:
        """Newest created first; `state` keeps one state, `gave_up` the `GAVE_UP_STATES`."""
        stmt = sa.select(DeliveryRow).order_by(DeliveryRow.created_at.desc(), DeliveryRow.id)
        if state is not None:
            stmt = stmt.where(DeliveryRow.state == state)
        if gave_up:
            stmt = stmt.where(DeliveryRow.state.in_([str(s) for s in GAVE_UP_STATES]))
        result = await self.session.execute(stmt.limit(limit).offset(offset))
        return result.scalars().all()

    async def newest_config(self, destination: str, key: str) -> dict[str, Any] | None:
        """The config of the newest delivery to (destination, key), if it has any."""
        result = await self.session.execute(
            sa.select(DeliveryRow.config)
            .where(DeliveryRow.destination == destination, DeliveryRow.destination_key == key)
            .order_by(DeliveryRow.created_at.desc())
            .limit(1)
        )
        config: dict[str, Any] | None = result.scalar_one_or_none()
        return config

    async def held_by_target(self) -> dict[tuple[str, str], int]:
        """(destination, key) → how many of its deliveries are held."""
        result = await self.session.execute(
            sa.select(DeliveryRow.destination, DeliveryRow.destination_key, sa.func.count())
            .where(DeliveryRow.state == str(DeliveryState.HELD))
            .group_by(DeliveryRow.destination, DeliveryRow.destination_key)
        )
        return {(kind, key): int(n) for kind, key, n in result.all()}

    async def unfinished_count(self, call_id: str) -> int:
        """How many of a call's deliveries are not in a final state."""
        result = await self.session.execute(
            sa.select(sa.func.count())
            .select_from(DeliveryRow)
            .where(
                DeliveryRow.call_id == call_id,
                DeliveryRow.state.not_in([str(s) for s in FINAL_STATES]),
            )
        )
        return int(result.scalar_one())

    async def count_by_destination_and_state(self) -> dict[tuple[str, str], int]:
        """How many deliveries each (destination, state) has."""
        result = await self.session.execute(
            sa.select(DeliveryRow.destination, DeliveryRow.state, sa.func.count()).group_by(
                DeliveryRow.destination, DeliveryRow.state
            )
        )
        return {(kind, state): int(n) for kind, state, n in result.all()}

    async def oldest_due(self, now: datetime) -> datetime | None:
        """When the longest-waiting due delivery (not yet in a final state) became due."""
        oldest: datetime | None = (
            await self.session.execute(
                sa.select(sa.func.min(DeliveryRow.next_attempt_at)).where(
                    DeliveryRow.next_attempt_at <= now,
                    DeliveryRow.delivered_at.is_(None),
                    DeliveryRow.state.not_in([str(s) for s in FINAL_STATES]),
                )
            )
        ).scalar_one_or_none()
        if oldest is not None and oldest.tzinfo is None:  # SQLite's func.min loses the zone
            oldest = oldest.replace(tzinfo=now.tzinfo)
        return oldest

    async def release_leases(self, owner: str, ids: Sequence[str], *, uncertain: bool) -> None:
        """Give leases back so any worker can take the rows now.

        `uncertain` keeps the owner's name on the row: the next worker then knows a try may
        have reached the destination.
        """
        if not ids:
            return
        values: dict[str, Any] = {"lease_expires_at": None}
        if not uncertain:
            values["lease_owner"] = None
        await self.session.execute(
            sa.update(DeliveryRow)
            .where(DeliveryRow.id.in_(list(ids)), DeliveryRow.lease_owner == owner)
            .values(**values)
            .execution_options(synchronize_session=False)
        )

    async def expire_all_leases(self) -> int:
        """Make every leased row claimable now (SQLite: the one process that owned them died)."""
        result = await self.session.execute(
            sa.update(DeliveryRow)
            .where(DeliveryRow.lease_expires_at.is_not(None))
            .values(lease_expires_at=None)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]
