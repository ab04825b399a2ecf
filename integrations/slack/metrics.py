"""Slack's metric: acknowledgements slower than a second (Slack gives up after three)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

from gateway.plugins import RequestObserver

EVENTS_ROUTE = "/slack/events"
SLOW_ACK_SECONDS = 1.0


def slow_ack_counter(registry: CollectorRegistry) -> RequestObserver:
    """Register `gateway_slack_acks_over_1s` in `registry`; the observer counts into it."""
    slow_acks = Counter(
        "gateway_slack_acks_over_1s",
        "Slack requests acknowledged after more than one second (the deadline is 3 s).",
        registry=registry,
    )

    def observe(method: str, route: str, status: int, seconds: float) -> None:
        if route == EVENTS_ROUTE and seconds > SLOW_ACK_SECONDS:
            slow_acks.inc()

    return observe
