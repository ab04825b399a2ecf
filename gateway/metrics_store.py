"""The store's gauges, read from the database at scrape time (so every replica and every
worker process reports the same truth), exposed by a collector of their own.

Being read fresh on each scrape, they are never written to prometheus_client's multiprocess
files: under `serve --workers N` the worker that answers the scrape reads them once, instead
of N processes each keeping a copy that goes stale.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.limits.policy import CallLimits
from gateway.store.calls import CallRepository
from gateway.store.database import Database
from gateway.store.deliveries import DeliveryRepository
from gateway.store.endpoints import EndpointRepository
from gateway.store.tables import utcnow

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

        async def work(
            session: AsyncSession,
        ) -> tuple[dict[str, int], dict[tuple[str, str], int], datetime | None, dict[str, int]]:
            calls = await CallRepository(session).count_by_state()
            deliveries = DeliveryRepository(session)
            by_destination = await deliveries.count_by_destination_and_state()
            oldest = await deliveries.oldest_due(now)
            disabled = await EndpointRepository(session).disabled_counts()
            return calls, by_destination, oldest, disabled

        calls, by_destination, oldest, disabled = await db.reading(work)
        self.calls = {(state,): n for state, n in calls.items()}
        self.deliveries = {key: n for key, n in by_destination.items()}
        self.disabled = {(kind,): n for kind, n in disabled.items()}
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
