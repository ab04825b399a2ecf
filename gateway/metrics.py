"""Prometheus metrics: one `CollectorRegistry` per app, served at `GET /metrics`.

Counters and histograms are updated as things happen (requests, upstream calls, polls, Slack
acks, delivery tries); the store's gauges (calls by state, deliveries by destination and
state, the oldest due delivery, disabled destinations, limits) are read from the database at
scrape time (`gateway.metrics_store`), so every replica reports the truth. The object is in
`ctx.metrics`. Polls (upstream `GET /v1/calls/{id}`) and delivery tries are counted here
from the client's and the outbox's callbacks; each installed integration may add metrics of
its own to the registry (`Integration.metrics`, e.g. Slack's acks over 1 s) and is handed
every answered request, so nobody needs to increment them by hand.

Under `serve --workers N` (multiprocess mode, see `gateway.metrics_process`) a scrape adds
up the counters and histograms of every worker. No `_created` series are exposed: they
double the series count and no alert or dashboard reads them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
)
from prometheus_client.exposition import generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.limits.policy import CallLimits, LimitReached
from gateway.metrics_process import MULTIPROC_ENV, WorkerProcesses, multiprocess_mode
from gateway.metrics_store import StoreGauges
from gateway.plugins import RequestObserver, installed, metrics_of
from gateway.store.database import Database

# Upstream calls: fast reads to slow creations, with room for a timeout at 15 s.
UPSTREAM_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0, 30.0)
# Delivery tries: a quick 2xx to the 15 s callback timeout and the 30 s try limit.
DELIVERY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0, 30.0)
POLL_ENDPOINT = "GET /v1/calls/{id}"


class GatewayMetrics:
    """Every metric the gateway exposes, in a registry of its own (tests build many apps)."""

    def __init__(self) -> None:
        disable_created_metrics()  # type: ignore[no-untyped-call]  # a process-wide switch
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.multiprocess = multiprocess_mode()
        self.store = StoreGauges()
        # Labelled children by label values (as many as the metrics themselves hold).
        self._request_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self._upstream_children: dict[tuple[str, str], Any] = {}
        r.register(self.store)
        self.request_observers = self._integration_metrics()
        if not self.multiprocess:  # in multiprocess mode, render() adds every worker's
            ProcessCollector(registry=r)
            PlatformCollector(registry=r)
            GCCollector(registry=r)
        self.serving = Gauge(
            "gateway_workers_serving",
            "Worker processes of this instance that finished starting and serve requests.",
            registry=r,
            multiprocess_mode="livesum",
        )
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
        self.limit_refusals = Counter(
            "gateway_limit_refusals",
            "Calls refused because a limit was reached, by limit.",
            ["limit"],
            registry=r,
        )
        self.delivery_attempts = Counter(
            "gateway_delivery_attempts",
            "Tries of deliveries, by destination kind and what became of the delivery "
            "(delivered, pending: retried later, dead, disabled: 410, held: its destination "
            "was disabled).",
            ["destination", "outcome"],
            registry=r,
        )
        self.delivery_seconds = Histogram(
            "gateway_delivery_attempt_seconds",
            "Time one try of a delivery took, by destination kind.",
            ["destination"],
            buckets=DELIVERY_BUCKETS,
            registry=r,
        )

    def _integration_metrics(self) -> list[RequestObserver]:
        """The integrations' own metrics, each told about every answered request."""
        found = (metrics_of(integration, self.registry) for integration in installed())
        return [observer for observer in found if observer is not None]

    def observe_limit_refused(self, reached: LimitReached) -> None:
        """`CallLimits`' `on_refused` callback."""
        self.limit_refusals.labels(reached.limit).inc()

    async def collect_limits(self, limits: CallLimits) -> None:
        """Refresh the limit gauges from the store's counters (called at scrape time)."""
        await self.store.refresh_limits(limits)

    def observe_delivery(self, destination: str, outcome: str, seconds: float) -> None:
        """The outbox's attempt observer: one try and what became of its delivery."""
        self.delivery_attempts.labels(destination, outcome).inc()
        self.delivery_seconds.labels(destination).observe(seconds)

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """A `request_observers` callback (see gateway.http.middleware)."""
        # The labelled children, looked up once per label set (prometheus_client's `labels`
        # validates and locks on every call: 1.5% of the event loop per hook, measured).
        key = (method, route, status)
        pair = self._request_children.get(key)
        if pair is None:
            pair = (
                self.requests.labels(method, route, str(status)),
                self.request_seconds.labels(route),
            )
            self._request_children[key] = pair
        pair[0].inc()
        pair[1].observe(seconds)
        for observer in self.request_observers:
            observer(method, route, status, seconds)

    def observe_upstream(self, endpoint: str, outcome: str, seconds: float) -> None:
        """The OneInbox client's `on_request` callback."""
        child = self._upstream_children.get((endpoint, outcome))
        if child is None:
            child = self.upstream_seconds.labels(endpoint, outcome)
            self._upstream_children[(endpoint, outcome)] = child
        child.observe(seconds)
        if endpoint == POLL_ENDPOINT:
            self.polls.inc()

    async def collect_store(self, db: Database) -> None:
        """Refresh the store gauges from the database (called at scrape time)."""
        await self.store.refresh(db)

    def render(self) -> bytes:
        """The text exposition format of every metric (every worker's, in multiprocess mode)."""
        if not self.multiprocess:
            return generate_latest(self.registry)
        path = Path(os.environ[MULTIPROC_ENV])
        scrape = CollectorRegistry(auto_describe=False)
        MultiProcessCollector(scrape, path=str(path))  # type: ignore[no-untyped-call]
        scrape.register(self.store)
        scrape.register(WorkerProcesses(path))
        return generate_latest(scrape)


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
