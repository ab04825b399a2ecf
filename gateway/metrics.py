"""Prometheus metrics: one `CollectorRegistry` per app, served at `GET /metrics`.

Counters and histograms are updated as things happen (requests, upstream calls, polls, Slack
acks); the store's gauges (calls by state, deliveries by destination and state, the oldest
due delivery) are read from the database at scrape time, so every replica reports the truth.
The object is in `ctx.extras["metrics"]`. Polls (upstream `GET /v1/calls/{id}`) and Slack
acks over 1 s (answers on `/slack/events`) are counted here from the client's and the
middleware's callbacks, so nobody needs to increment them by hand.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.limits.policy import CallLimits, LimitReached
from gateway.store.database import Database
from gateway.store.deliveries import FINAL_STATES
from gateway.store.tables import CallRow, DeliveryRow, utcnow

# Upstream calls: fast reads to slow creations, with room for a timeout at 15 s.
UPSTREAM_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0, 30.0)
POLL_ENDPOINT = "GET /v1/calls/{id}"
SLACK_ROUTES = frozenset({"/slack/events"})
SLOW_ACK_SECONDS = 1.0
# A delivery whose work is over; everything else with a due time is waiting to be sent.
SETTLED_DELIVERY_STATES = tuple(str(state) for state in FINAL_STATES)


class GatewayMetrics:
    """Every metric the gateway exposes, in a registry of its own (tests build many apps)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "gateway_http_requests",
            "HTTP requests answered, by route template and status.",
            ["method", "route", "status"],
            registry=r,
        )
        self.request_seconds = Histogram(
            "gateway_http_request_seconds",
            "Time to answer an HTTP request, by route template.",
            ["route"],
            registry=r,
        )
        self.upstream_seconds = Histogram(
            "gateway_upstream_request_seconds",
            "OneInbox API latency by endpoint template and outcome (ok, a status, timeout).",
            ["endpoint", "outcome"],
            buckets=UPSTREAM_BUCKETS,
            registry=r,
        )
        self.polls = Counter(
            "gateway_polls",
            "Upstream polls of tracked calls (rate() gives polls per second).",
            registry=r,
        )
        self.slack_slow_acks = Counter(
            "gateway_slack_acks_over_1s",
            "Slack requests acknowledged after more than one second (the deadline is 3 s).",
            registry=r,
        )
        self.calls = Gauge("gateway_calls", "Calls in the store, by state.", ["state"], registry=r)
        self.deliveries = Gauge(
            "gateway_deliveries",
            "Deliveries in the store, by destination and state.",
            ["destination", "state"],
            registry=r,
        )
        self.oldest_due_delivery = Gauge(
            "gateway_oldest_due_delivery_seconds",
            "Age of the oldest delivery that is due and not yet sent (0 when none).",
            registry=r,
        )

        self.limit_allowed = Gauge(
            "gateway_limit_allowed",
            "Each limit in force: calls allowed today (or at once, for live_calls), by subject "
            "(* for the whole gateway, a hook name, a Slack team/user).",
            ["limit", "subject"],
            registry=r,
        )
        self.limit_used = Gauge(
            "gateway_limit_used",
            "Use of each limit in force now (calls started today, or calls live), by subject.",
            ["limit", "subject"],
            registry=r,
        )
        self.limit_refusals = Counter(
            "gateway_limit_refusals",
            "Calls refused because a limit was reached, by limit.",
            ["limit"],
            registry=r,
        )

    def observe_limit_refused(self, reached: LimitReached) -> None:
        """`CallLimits`' `on_refused` callback."""
        self.limit_refusals.labels(reached.limit).inc()

    async def collect_limits(self, limits: CallLimits) -> None:
        """Refresh the limit gauges from the store's counters (called at scrape time)."""
        report = await limits.report()
        self.limit_allowed.clear()
        self.limit_used.clear()
        for usage in report:
            self.limit_allowed.labels(usage.limit, usage.subject).set(usage.allowed)
            self.limit_used.labels(usage.limit, usage.subject).set(usage.used)

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """A `request_observers` callback (see gateway.http.middleware)."""
        self.requests.labels(method, route, str(status)).inc()
        self.request_seconds.labels(route).observe(seconds)
        if route in SLACK_ROUTES and seconds > SLOW_ACK_SECONDS:
            self.slack_slow_acks.inc()

    def observe_upstream(self, endpoint: str, outcome: str, seconds: float) -> None:
        """The OneInbox client's `on_request` callback."""
        self.upstream_seconds.labels(endpoint, outcome).observe(seconds)
        if endpoint == POLL_ENDPOINT:
            self.polls.inc()

    async def collect_store(self, db: Database) -> None:
        """Refresh the store gauges from the database (called at scrape time)."""
        now = utcnow()
        async with db.session() as session:
            calls = (
                await session.execute(
                    sa.select(CallRow.state, sa.func.count()).group_by(CallRow.state)
                )
            ).all()
            deliveries = (
                await session.execute(
                    sa.select(DeliveryRow.destination, DeliveryRow.state, sa.func.count()).group_by(
                        DeliveryRow.destination, DeliveryRow.state
                    )
                )
            ).all()
            oldest: datetime | None = (
                await session.execute(
                    sa.select(sa.func.min(DeliveryRow.next_attempt_at)).where(
                        DeliveryRow.next_attempt_at <= now,
                        DeliveryRow.delivered_at.is_(None),
                        DeliveryRow.state.not_in(SETTLED_DELIVERY_STATES),
                    )
                )
            ).scalar_one_or_none()
        self.calls.clear()
        for state, count in calls:
            self.calls.labels(state).set(count)
        self.deliveries.clear()
        for destination, state, count in deliveries:
            self.deliveries.labels(destination, state).set(count)
        if oldest is not None and oldest.tzinfo is None:  # SQLite's func.min loses the zone
            oldest = oldest.replace(tzinfo=now.tzinfo)
        self.oldest_due_delivery.set((now - oldest).total_seconds() if oldest else 0.0)

    def render(self) -> bytes:
        """The text exposition format of every metric."""
        return generate_latest(self.registry)


def metrics_routes(
    metrics: GatewayMetrics, db: Database, limits: CallLimits | None = None
) -> list[Route]:
    """`GET /metrics`. Unauthenticated, like most exporters: keep it off the public ingress."""

    async def serve_metrics(request: Request) -> Response:
        await metrics.collect_store(db)
        if limits is not None:
            await metrics.collect_limits(limits)
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    return [Route("/metrics", serve_metrics, methods=["GET"])]
