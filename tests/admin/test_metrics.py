"""`/metrics`: what an operator graphs, read from a live gateway in Prometheus' format."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from gateway.metrics import GatewayMetrics
from tests.admin.rig import AdminRig

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(rig: AdminRig) -> Samples:
    response = httpx.get(rig.url + "/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_requests_are_counted_by_route_template_and_status(rig: AdminRig) -> None:
    rig.api("GET", "/api/calls")
    rig.api("GET", "/api/calls/call_secret_id_1")
    rig.api("GET", "/api/calls", token="wrong")
    samples = scrape(rig)
    total = "gateway_http_requests_total"
    assert value(samples, total, method="GET", route="/api/calls", status="200") == 1
    assert value(samples, total, method="GET", route="/api/calls", status="401") == 1
    assert value(samples, total, method="GET", route="/api/calls/{call_id}", status="404") == 1
    # the raw path (which may hold ids) is never a label
    assert not any("call_secret_id_1" in str(key) for key in samples)


def test_upstream_latency_and_the_store_gauges(rig: AdminRig) -> None:
    call_id = rig.start_call()["call_id"]
    rig.seed_delivery(call_id, state="pending", delivery_id="dlv_due", due_ago=30)
    rig.seed_delivery(call_id, state="dead", delivery_id="dlv_failed")
    samples = scrape(rig)

    created = value(
        samples,
        "gateway_upstream_request_seconds_count",
        endpoint="POST /v1/calls/web",
        outcome="ok",
    )
    assert created == 1
    assert value(samples, "gateway_calls", state="started") == 1
    assert value(samples, "gateway_deliveries", destination="callback", state="pending") == 1
    assert value(samples, "gateway_deliveries", destination="callback", state="dead") == 1
    age = value(samples, "gateway_oldest_due_delivery_seconds")
    assert 29 <= age < 120


def test_counters_other_modules_increment_are_exposed(rig: AdminRig) -> None:
    samples = scrape(rig)
    assert ("gateway_polls_total", ()) in samples
    assert ("gateway_slack_acks_over_1s_total", ()) in samples
    assert value(samples, "gateway_oldest_due_delivery_seconds") == 0


def exposed(metrics: GatewayMetrics) -> dict[str, float]:
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(metrics.render().decode())
        for sample in family.samples
        if not sample.labels
    }


def test_upstream_reads_of_a_call_count_as_polls() -> None:
    # The tracker's client reports through `on_request` like the main client does.
    metrics = GatewayMetrics()
    metrics.observe_upstream("GET /v1/calls/{id}", "ok", 0.02)
    metrics.observe_upstream("GET /v1/calls/{id}", "timeout", 15.0)
    metrics.observe_upstream("POST /v1/calls/web", "ok", 0.3)
    assert exposed(metrics)["gateway_polls_total"] == 2


def test_slack_answers_slower_than_a_second_are_counted() -> None:
    metrics = GatewayMetrics()
    metrics.observe_request("POST", "/slack/events", 200, 0.2)
    metrics.observe_request("POST", "/slack/events", 200, 1.4)
    metrics.observe_request("POST", "/hooks/{name}", 202, 2.5)  # not Slack
    assert exposed(metrics)["gateway_slack_acks_over_1s_total"] == 1


def test_slack_ack_latency_is_a_histogram_of_slack_requests_only() -> None:
    metrics = GatewayMetrics()
    for seconds in (0.03, 0.2, 0.2, 1.4, 2.8):
        metrics.observe_request("POST", "/slack/events", 200, seconds)
    metrics.observe_request("POST", "/hooks/{name}", 202, 0.2)  # not Slack
    buckets = {
        sample.labels["le"]: sample.value
        for family in text_string_to_metric_families(metrics.render().decode())
        for sample in family.samples
        if sample.name == "gateway_slack_ack_seconds_bucket"
    }
    assert buckets["0.05"] == 1 and buckets["0.25"] == 3 and buckets["1.5"] == 4
    assert buckets["3.0"] == 5 and buckets["+Inf"] == 5
    assert exposed(metrics)["gateway_slack_ack_seconds_count"] == 5
