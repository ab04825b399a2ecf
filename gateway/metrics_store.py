"""The store's gauges, read from the database at scrape time (so every replica and every
worker process reports the same truth), exposed by a collector of their own.

Being read fresh on each scrape, they are never written to prometheus_client's multiprocess
files: under `serve --workers N` the worker that answers the scrape reads them once, instead
of N processes each keeping a copy that goes stale.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import sqlalchemy as sa
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from gateway.limits.policy import CallLimits
from gateway.store.database import Database
from gateway.store.deliveries import FINAL_STATES
from gateway.store.tables import CallRow, DeliveryRow, EndpointRow, utcnow

# A delivery whose work is over; everything else with a due time is waiting to be sent.
SETTLED_DELIVERY_STATES = tuple(str(state) for state in FINAL_STATES)

Counts = dict[tuple[str, ...], float]


class StoreGauges(Collector):
    """Calls by state, deliveries by destination and state, the oldest due delivery,
    disabled destinations, and use against each limit: as of the last `refresh`."""

    def __init__(self) -> None:
        self.calls: Counts = {}
        self.deliveries: Counts = {}
        self.disabled: Counts = {}
        self.oldest_due_seconds = 0.0
        self.limit_allowed: Counts = {}
        self.limit_used: Counts = {}

    async def refresh(self, db: Database) -> None:
        """Read the store's counts (one short transaction)."""
        now = utcnow()
        async with db.session() as session:
            calls = await session.execute(
                sa.select(CallRow.state, sa.func.count()).group_by(CallRow.state)
            )
            deliveries = await session.execute(
                sa.select(DeliveryRow.destination, DeliveryRow.state, sa.func.count()).group_by(
                    DeliveryRow.destination, DeliveryRow.state
                )
            )
            disabled = await session.execute(
                sa.select(EndpointRow.destination, sa.func.count())
                .where(EndpointRow.disabled_at.is_not(None))
                .group_by(EndpointRow.destination)
            )
            oldest: datetime | None = (
                await session.execute(
                    sa.select(sa.func.min(DeliveryRow.next_attempt_at)).where(
                        DeliveryRow.next_attempt_at <= now,
                        DeliveryRow.delivered_at.is_(None),
                        DeliveryRow.state.not_in(SETTLED_DELIVERY_STATES),
                    )
                )
            ).scalar_one_or_none()
            self.calls = {(state,): n for state, n in calls.all()}
            self.deliveries = {(kind, state): n for kind, state, n in deliveries.all()}
            self.disabled = {(kind,): n for kind, n in disabled.all()}
        if oldest is not None and oldest.tzinfo is None:  # SQLite's func.min loses the zone
            oldest = oldest.replace(tzinfo=now.tzinfo)
        self.oldest_due_seconds = (now - oldest).total_seconds() if oldest else 0.0

    async def refresh_limits(self, limits: CallLimits) -> None:
        """Read the use of every limit in force from the store's counters."""
        report = await limits.report()
        self.limit_allowed = {(u.limit, u.subject): u.allowed for u in report}
        self.limit_used = {(u.limit, u.subject): u.used for u in report}

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield _family("gateway_calls", "Calls in the store, by state.", ["state"], self.calls)
        yield _family(
            "gateway_deliveries",
            "Deliveries in the store, by destination and state (held: its destination is "
            "disabled).",
            ["destination", "state"],
            self.deliveries,
        )
        yield GaugeMetricFamily(
            "gateway_oldest_due_delivery_seconds",
            "Age of the oldest delivery that is due and not yet sent (0 when none).",
            value=self.oldest_due_seconds,
        )
        yield _family(
            "gateway_disabled_destinations",
            "Destinations disabled after failing too long without a success, by destination "
            "kind; their deliveries are held until an operator enables them.",
            ["destination"],
            self.disabled,
        )
        yield _family(
            "gateway_limit_allowed",
            "Each limit in force: calls allowed today (or at once, for live_calls), by subject "
            "(* for the whole gateway, a hook name, a Slack team/user).",
            ["limit", "subject"],
            self.limit_allowed,
        )
        yield _family(
            "gateway_limit_used",
            "Use of each limit in force now (calls started today, or calls live), by subject.",
            ["limit", "subject"],
            self.limit_used,
        )


def _family(name: str, doc: str, labels: list[str], counts: Counts) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=labels)
    for key, value in sorted(counts.items()):
        family.add_metric(list(key), value)
    return family
