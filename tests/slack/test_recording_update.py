"""A recording that arrives after the result was posted is added to that Slack message in
place; Slack only ever sees the gateway's own link, never OneInbox's URL."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from integrations.slack.cards import card_metadata
from tests.slack.conftest import SlackRig, make_rig
from tests.support.servers import wait_until

CHANNEL = "C0GENERAL"


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[SlackRig]:
    yield from make_rig(tmp_path)


def result_message(rig: SlackRig) -> dict[str, object] | None:
    for message in rig.fake.posts(CHANNEL):
        if (message.get("metadata") or {}).get("event_type") == "oneinbox_call_result":
            return message
    return None


def test_a_late_recording_edits_the_posted_result(rig: SlackRig) -> None:
    # The recording is ready well after the analysis: the result goes out without it.
    rig.sim("PATCH", "/_sim/config", json={"recording_delay": 5, "analysis_delay": 0.5})
    assert rig.command("call sales").status_code == 200
    call = wait_until(lambda: rig.stored_calls(), timeout=15, what="the call")[0]
    wait_until(
        lambda: any(m.get("metadata") == card_metadata(call.id) for m in rig.fake.posts(CHANNEL)),
        timeout=15,
        what="the card",
    )
    wait_until(lambda: rig.sim("GET", "/v1/webhooks").json(), timeout=10)
    rig.sim("POST", f"/_sim/calls/{call.id}/join")
    rig.sim("POST", f"/_sim/calls/{call.id}/end", json={})
    posted = wait_until(lambda: result_message(rig), timeout=20, what="the result")
    assert "Listen to the recording" not in json.dumps(posted["blocks"])
    assert not posted.get("edited")

    edited = wait_until(
        lambda: (m := result_message(rig)) is not None and m.get("edited") and m,
        timeout=30,
        what="the result edited with the recording",
    )
    blocks = json.dumps(edited["blocks"])
    assert "Listen to the recording" in blocks
    [link] = re.findall(r"<(http[^|>]+)\|Listen to the recording>", blocks)
    assert link.startswith(rig.gateway.url + "/recordings/")
    assert len(result_message_all(rig)) == 1  # edited, not posted again

    opened = httpx.get(link)
    assert opened.status_code == 302
    upstream = opened.headers["location"]
    # Nothing OneInbox signed ever reached Slack, in any call of any method.
    sent = json.dumps([c.args for c in rig.fake.calls])
    assert "/recordings/" + call.id not in sent
    assert upstream.split("?")[0] not in sent


def result_message_all(rig: SlackRig) -> list[dict[str, object]]:
    return [
        m
        for m in rig.fake.posts(CHANNEL)
        if (m.get("metadata") or {}).get("event_type") == "oneinbox_call_result"
    ]
