"""A real slash command shows up in `/metrics` as one observation of the Slack ack histogram."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.slack.conftest import SlackRig


def ack_count(rig: SlackRig) -> float:
    text = httpx.get(rig.gateway.url + "/metrics", timeout=10).text
    assert "_created" not in text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "gateway_slack_ack_seconds_count"
    )


def test_each_slack_request_is_timed_in_the_ack_histogram(rig: SlackRig) -> None:
    before = ack_count(rig)
    assert rig.command("help").status_code == 200
    assert rig.command("agents").status_code == 200
    assert ack_count(rig) == before + 2
