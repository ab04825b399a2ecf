"""Slack's metrics: how long Slack requests wait for their acknowledgement (Slack shows the
user an error after 3 s), as a histogram, and the count of those over one second."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

from gateway.plugins import RequestObserver

EVENTS_ROUTE = "/slack/events"
SLOW_ACK_SECONDS = 1.0
# Dense below Slack's 3 s deadline, where the p99 lives, with room for a stall beyond it.
ACK_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0, 5.0)


def slack_ack_metrics(registry: CollectorRegistry) -> RequestObserver:
    """Register `gateway_slack_ack_seconds` and `gateway_slack_acks_over_1s` in `registry`;
    the observer feeds both from every answered `/slack/events` request."""
    ack_seconds = Histogram(
        "gateway_slack_ack_seconds",
        "Time to acknowledge a Slack request (command, interaction, event); Slack gives up "
        "after 3 s.",
        buckets=ACK_BUCKETS,
        registry=registry,
    )
    slow_acks = Counter(
        "gateway_slack_acks_over_1s",
        "Slack requests acknowledged after more than one second (the deadline is 3 s).",
        registry=registry,
    )

    def observe(method: str, route: str, status: int, seconds: float) -> None:
        if route != EVENTS_ROUTE:
            return
        ack_seconds.observe(seconds)
        if seconds > SLOW_ACK_SECONDS:
            slow_acks.inc()

    return observe
