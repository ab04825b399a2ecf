"""`/voice dial` end to end: a real gateway, the simulator's phone network, a fake Slack API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.slack.conftest import SlackRig, make_rig
from tests.support.servers import wait_until

CHANNEL = "C0GENERAL"
FAST_PHONE = {
    "analysis_delay": 0.1,
    "phone_dial_seconds": 0.05,
    "phone_answer_after": 0.1,
    "phone_ring_timeout": 0.3,
    "phone_hangup_after": 0.3,
}


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[SlackRig]:
    for running in make_rig(tmp_path, poll_interval_seconds=0.3):
        running.sim("PATCH", "/_sim/config", json=FAST_PHONE)
        yield running


def dials(rig: SlackRig) -> int:
    stats = rig.sim("GET", "/_sim/stats").json()
    return int(stats["by_endpoint"].get("POST /v1/calls", 0))


def card_and_reply(rig: SlackRig) -> tuple[dict[str, Any], dict[str, Any]]:
    card = wait_until(lambda: rig.fake.posts(CHANNEL), timeout=20, what="the card")[0]
    reply = wait_until(
        lambda: rig.fake.replies(CHANNEL, card["ts"]), timeout=20, what="the thread reply"
    )[0]
    return card, reply


def test_dial_rings_the_number_as_e164_and_shows_only_its_last_four_digits(rig: SlackRig) -> None:
    response = rig.command("dial sales +1 212 555 0199 customer_name=Ada")
    assert response.status_code == 200
    assert "Dialling `•••0199` with *sales*" in response.text

    card, reply = card_and_reply(rig)
    (call,) = rig.stored_calls()
    upstream = rig.sim("GET", f"/v1/calls/{call.id}").json()
    assert upstream["type"] == "outbound" and upstream["to_number"] == "+12125550199"
    assert upstream["variables"] == {"customer_name": "Ada"}
    assert (call.call_type, call.to_number) == ("outbound", "+12125550199")
    first = rig.fake.called("chat.postMessage")[0].args  # the card as posted, before it ended
    first_blocks = (
        first["blocks"] if isinstance(first["blocks"], list) else json.loads(first["blocks"])
    )
    assert "*Phone call with sales* to `•••0199`" in first_blocks[0]["text"]["text"]
    actions = next(b for b in first_blocks if b["type"] == "actions")
    assert [e["action_id"] for e in actions["elements"]] == ["stop_call"]  # no join link
    assert reply["metadata"]["event_type"] == "oneinbox_call_result"

    ended = wait_until(
        lambda: (
            "Ended" in json.dumps(rig.fake.message(CHANNEL, card["ts"]) or {}, ensure_ascii=False)
            and rig.fake.message(CHANNEL, card["ts"])
        ),
        timeout=20,
        what="the ended card",
    )
    assert "•••0199" in json.dumps(ended["blocks"], ensure_ascii=False)
    everything = json.dumps([c.args for c in rig.fake.calls]) + response.text
    assert "2125550199" not in everything and "555 0199" not in everything


def test_dial_of_something_that_is_not_a_number_dials_nothing_and_says_why(rig: SlackRig) -> None:
    response = rig.command("dial sales banana")
    assert response.status_code == 200
    assert "I can't dial that number: it is not a phone number. Nothing was dialled." in (
        response.text
    )
    assert "/voice dial <agent> <phone number>" in response.text
    assert dials(rig) == 0 and rig.stored_calls() == []


def test_a_national_number_without_a_default_region_is_refused(rig: SlackRig) -> None:
    response = rig.command("dial sales (212) 555-0199")
    assert "PHONE_DEFAULT_REGION" in response.text
    assert dials(rig) == 0


def test_a_number_nobody_answers_ends_in_the_thread_as_not_connected(rig: SlackRig) -> None:
    rig.sim("PATCH", "/_sim/config", json={"phone_pickup": "no_answer"})
    rig.command("dial sales +1 212 555 0199")
    card, reply = card_and_reply(rig)
    text = json.dumps(reply["blocks"], ensure_ascii=False)
    assert "Not Connected" in text and "nobody answered" in text and "•••0199" in text
    ended = wait_until(
        lambda: (
            "Failed" in json.dumps(rig.fake.message(CHANNEL, card["ts"]) or {})
            and rig.fake.message(CHANNEL, card["ts"])
        ),
        timeout=20,
        what="the failed card",
    )
    assert "nobody answered" in json.dumps(ended["blocks"], ensure_ascii=False)


@pytest.mark.parametrize(
    ("settings", "allowed"),
    [
        ({"slack_admin_users": "U0BOSS"}, False),
        ({"slack_admin_users": "U0USER1"}, True),
        ({"slack_admin_users": "U0USER1", "slack_dial_users": "U0BOSS"}, False),
        ({"slack_admin_users": "U0BOSS", "slack_dial_users": "U0USER1"}, True),
    ],
)
def test_who_may_dial(tmp_path: Path, settings: dict[str, str], allowed: bool) -> None:
    for rig in make_rig(tmp_path, **settings):
        response = rig.command("dial sales +1 212 555 0199")
        if allowed:
            assert "Dialling" in response.text
            wait_until(lambda: dials(rig) == 1, what="the dial")  # noqa: B023
        else:
            assert "only some people can place them (<@U0BOSS>)" in response.text
            assert dials(rig) == 0 and rig.stored_calls() == []


def test_status_of_a_ringing_call_says_so_with_the_number_masked(rig: SlackRig) -> None:
    rig.sim("PATCH", "/_sim/config", json={"phone_pickup": "no_answer", "phone_ring_timeout": 30})
    rig.command("dial sales +1 212 555 0199")
    (call,) = wait_until(rig.stored_calls, what="the stored call")
    wait_until(
        lambda: rig.sim("GET", f"/v1/calls/{call.id}").json()["status"] == "initiated",
        what="ringing upstream",
    )
    wait_until(lambda: rig.stored_calls()[0].upstream_status == "initiated", what="tracked")
    rig.command(f"status {call.id}")
    answer = wait_until(
        lambda: next(
            (r for r in rig.responses() if "Ringing" in r.get("text", "")),
            None,
        ),
        what="the status answer",
    )
    assert (
        f"Phone call `{call.id}` to `•••0199` with *sales*: :telephone: Ringing…" in answer["text"]
    )


def test_help_lists_dial(rig: SlackRig) -> None:
    assert "/voice dial <agent> <phone number> [live=yes] [key=value…]" in rig.command("help").text
