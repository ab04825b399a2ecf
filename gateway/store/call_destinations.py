"""Pointing a stored call's destination somewhere learned after the start (a Slack card's
thread): a unit for `Database.write`, so it is group-committed with the hot path's other
writes instead of taking a transaction of its own per call.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from gateway.store.prepared import Prepared
from gateway.store.tables import CallRow, DeliveryRow

CALLS: sa.Table = CallRow.__table__  # type: ignore[assignment]
DELIVERIES: sa.Table = DeliveryRow.__table__  # type: ignore[assignment]

# Built once (see gateway.store.prepared): executed with a dict of parameters.
_CALL = (
    sa.select(CALLS.c.destinations, CALLS.c.origin_context)
    .where(CALLS.c.id == sa.bindparam("m_call_id"))
    .with_for_update()
)
_UPDATE_CALL = Prepared(
    sa.update(CALLS)
    .where(CALLS.c.id == sa.bindparam("m_call_id"))
    .values(
        destinations=sa.bindparam("m_destinations", type_=sa.JSON),
        origin_context=sa.bindparam("m_origin_context", type_=sa.JSON),
    )
)
_PENDING = sa.select(DELIVERIES.c.id, DELIVERIES.c.config).where(
    DELIVERIES.c.call_id == sa.bindparam("m_call_id"),
    DELIVERIES.c.destination_key == sa.bindparam("m_key"),
    DELIVERIES.c.delivered_at.is_(None),
)
_UPDATE_DELIVERY = Prepared(
    sa.update(DELIVERIES)
    .where(DELIVERIES.c.id == sa.bindparam("m_id"))
    .values(config=sa.bindparam("m_config", type_=sa.JSON))
)


def merge_config(
    conn: sa.Connection,
    *,
    call_id: str,
    key: str,
    changes: dict[str, Any],
    origin_context: dict[str, Any],
) -> bool:
    """Merge `changes` into the config of the call's destination `key` (and of its deliveries
    not yet delivered) and `origin_context` into the call's own, the call's row locked; False
    when there is no such call."""
    row = conn.execute(_CALL, {"m_call_id": call_id}).first()
    if row is None:
        return False
    destinations = []
    for item in row.destinations or []:
        if isinstance(item, dict) and item.get("key") == key:
            item = {**item, "config": {**(item.get("config") or {}), **changes}}
        destinations.append(item)
    _UPDATE_CALL.execute(
        conn,
        {
            "m_call_id": call_id,
            "m_destinations": destinations,
            "m_origin_context": {**(row.origin_context or {}), **origin_context},
        },
    )
    for delivery in conn.execute(_PENDING, {"m_call_id": call_id, "m_key": key}).all():
        config = {**(delivery.config or {}), **changes}
        _UPDATE_DELIVERY.execute(conn, {"m_id": delivery.id, "m_config": config})
    return True
