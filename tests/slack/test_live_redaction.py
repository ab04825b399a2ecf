"""`[slack] redact` covers the live transcript too: while the call is spoken, no edit of a
turn in the thread ever carries the email or phone number the caller's name holds."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.slack.conftest import SlackRig, make_rig
from tests.slack.test_live import CHANNEL, DEMO, card_of, live_turns
from tests.support.servers import wait_until

EMAIL = "ada.lovelace@example.com"
PHONE = "415 555 0123"
SPANISH = "612 345 678"  # national in Spain (PHONE_DEFAULT_REGION=ES), not a US number


@pytest.fixture
def redacting_rig(tmp_path: Path) -> Iterator[SlackRig]:
    slack = '\n[slack]\nredact = ["phone", "email", "card"]\n'
    yield from make_rig(tmp_path, extra_config=DEMO + slack, phone_default_region="ES")


def test_live_turns_reach_a_redacting_channel_masked_partials_included(
    redacting_rig: SlackRig,
) -> None:
    rig = redacting_rig
    rig.sim("PATCH", "/_sim/config", json={"outcome": "Appointment Booked"})
    command = f'call demo live=yes customer_name="Ada {EMAIL}, +1 {PHONE}, or {SPANISH}"'
    assert rig.command(command).status_code == 200
    call = wait_until(lambda: rig.stored_calls(), timeout=15, what="the call stored")[0]
    assert call.destinations[0]["config"]["redact"] == ["phone", "email", "card"]
    card_ts = wait_until(lambda: card_of(rig, call.id), timeout=15, what="the card")
    wait_until(lambda: rig.sim("GET", "/v1/webhooks").json(), timeout=10, what="webhook")
    assert rig.sim("POST", f"/_sim/calls/{call.id}/join").status_code == 200

    def greeting_final() -> bool:
        return any(
            "[email]" in m["text"] and not m["text"].endswith(" …")
            for m in live_turns(rig, card_ts)
        )

    wait_until(greeting_final, timeout=30, what="the greeting, masked, in the thread")
    greeting = next(m["text"] for m in live_turns(rig, card_ts) if "[email]" in m["text"])
    assert "[phone ending 0123]" in greeting and "[phone ending 5678]" in greeting
    assert rig.sim("POST", f"/_sim/calls/{call.id}/end", json={}).status_code == 200
    wait_until(
        lambda: any(
            (m.get("metadata") or {}).get("event_type") == "oneinbox_call_result"
            for m in rig.fake.replies(CHANNEL, card_ts)
        ),
        timeout=30,
        what="the result in the thread",
    )
    # Every text Slack was ever sent (posts and each edit of a partial turn) was masked.
    sent = json.dumps([c.args for c in rig.fake.calls])
    for raw in (EMAIL, PHONE, SPANISH, "4155550123", "415 555", "612 345"):
        assert raw not in sent
    # The store keeps the conversation whole.
    stored = wait_until(lambda: rig.stored_calls()[0].result, timeout=15, what="stored result")
    assert any(EMAIL in m["content"] for m in stored["messages"])
