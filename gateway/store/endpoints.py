"""The `endpoints` table: each place results go, its health, and whether it is disabled."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.store.tables import DeliveryRow, EndpointRow


def endpoint_id(destination: str, key: str) -> str:
    """The stable id of (destination kind, target): `dst_` + 24 hex."""
    digest = hashlib.sha256(f"{destination}\n{key}".encode()).hexdigest()
    return f"dst_{digest[:24]}"


def disabled_target() -> sa.Exists:
    """True for a delivery whose endpoint is disabled (a correlated EXISTS on deliveries)."""
    return sa.exists(
        sa.select(EndpointRow.id).where(
            EndpointRow.destination == DeliveryRow.destination,
            EndpointRow.destination_key == DeliveryRow.destination_key,
            EndpointRow.disabled_at.is_not(None),
        )
    )


class EndpointRepository:
    """Queries of the `endpoints` table (and the deliveries an endpoint holds back)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def ensure(
        self, destination: str, key: str, config: dict[str, Any], *, now: datetime
    ) -> None:
        """Create the endpoint's row unless it exists (replicas may race: nobody fails)."""
        values = {
            "id": endpoint_id(destination, key),
            "destination": destination,
            "destination_key": key,
            "config": config,
            "created_at": now,
        }
        dialect = self.session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        await self.session.execute(
            insert(EndpointRow).values(**values).on_conflict_do_nothing(index_elements=["id"])
        )

    async def get(self, endpoint_id: str, *, for_update: bool = False) -> EndpointRow | None:
        stmt = sa.select(EndpointRow).where(EndpointRow.id == endpoint_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def disabled_at(self, destination: str, key: str) -> datetime | None:
        """When the endpoint was disabled, or None (also when it has no row yet)."""
        stmt = sa.select(EndpointRow.disabled_at).where(
            EndpointRow.id == endpoint_id(destination, key)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def listing(self, *, limit: int = 200) -> Sequence[EndpointRow]:
        """Disabled first, then failing, then the rest; newest activity first within each."""
        stmt = sa.select(EndpointRow).order_by(
            EndpointRow.disabled_at.is_(None),
            EndpointRow.failing_since.is_(None),
            sa.func.coalesce(EndpointRow.last_failure_at, EndpointRow.last_success_at).desc(),
            EndpointRow.id,
        )
        return (await self.session.execute(stmt.limit(limit))).scalars().all()

    async def disabled(self) -> Sequence[EndpointRow]:
        stmt = (
            sa.select(EndpointRow)
            .where(EndpointRow.disabled_at.is_not(None))
            .order_by(EndpointRow.disabled_at)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def disabled_total(self) -> int:
        """How many endpoints are disabled now."""
        result = await self.session.execute(
            sa.select(sa.func.count())
            .select_from(EndpointRow)
            .where(EndpointRow.disabled_at.is_not(None))
        )
        return int(result.scalar_one())

    async def disabled_counts(self) -> dict[str, int]:
        """How many endpoints each destination kind has disabled."""
        result = await self.session.execute(
            sa.select(EndpointRow.destination, sa.func.count())
            .where(EndpointRow.disabled_at.is_not(None))
            .group_by(EndpointRow.destination)
        )
        return {kind: int(n) for kind, n in result.all()}

    async def set_state_of_deliveries(
        self,
        row: EndpointRow,
        *,
        from_state: str,
        to_state: str,
        next_attempt_at: datetime | None,
        reset_attempts: bool = False,
    ) -> int:
        """Move the endpoint's deliveries in `from_state` to `to_state`; how many moved."""
        values: dict[str, Any] = {"state": to_state, "next_attempt_at": next_attempt_at}
        if reset_attempts:
            values["attempts"] = 0
        result = await self.session.execute(
            sa.update(DeliveryRow)
            .where(
                DeliveryRow.destination == row.destination,
                DeliveryRow.destination_key == row.destination_key,
                DeliveryRow.state == from_state,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]
