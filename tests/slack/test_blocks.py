"""Block Kit builders are pure: compared with the exact payload Slack receives."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gateway.calls.result import CallResult
from integrations.slack import blocks

FIXTURE = Path(__file__).parent / "fixtures" / "call_result.json"


def result(**changes: Any) -> CallResult:
    return CallResult.model_validate({**json.loads(FIXTURE.read_text()), **changes})


def test_call_card() -> None:
    text, card = blocks.call_card(
        call_id="call_1",
        agent_name="Sales <EU>",
        started_by="<@U1>",
        join_url="https://gw/join/abc",
    )
    assert text == "Voice call with Sales <EU>, started by <@U1>"
    assert card == [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": ":telephone_receiver: *Voice call with Sales &lt;EU&gt;*\nStarted by <@U1>",
            },
        },
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": ":large_yellow_circle: Waiting for someone to join  ·  Call `call_1`",
                }
            ],
        },
        {
            "type": "actions",
            "block_id": "call_actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": "join_call",
                    "text": {"type": "plain_text", "text": "Join call", "emoji": True},
                    "url": "https://gw/join/abc",
                    "style": "primary",
                },
                {
                    "type": "button",
                    "action_id": "stop_call",
                    "text": {"type": "plain_text", "text": "Stop call", "emoji": True},
                    "value": "call_1",
                    "style": "danger",
                    "confirm": {
                        "title": {"type": "plain_text", "text": "Stop this call?"},
                        "text": {"type": "plain_text", "text": "The agent hangs up for everyone."},
                        "confirm": {"type": "plain_text", "text": "Stop call"},
                        "deny": {"type": "plain_text", "text": "Keep it"},
                    },
                },
            ],
        },
    ]


def test_ended_card_shows_duration_and_outcome_without_buttons() -> None:
    text, card = blocks.ended_card(result())
    assert text == "Voice call with sales ended: Appointment Booked, 3 min 7 s"
    assert card == [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": ":telephone_receiver: *Voice call with sales*\nStarted by <@U0USER1>",
            },
        },
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": "*Duration*\n3 min 7 s"},
                {"type": "mrkdwn", "text": "*Outcome*\nAppointment Booked"},
            ],
        },
        {
            "type": "context",
            "elements": [
                {"type": "mrkdwn", "text": ":white_check_mark: Ended  ·  Call `call_8f2c1a`"}
            ],
        },
    ]


def test_failed_call_card_and_missing_outcome() -> None:
    _, card = blocks.ended_card(result(status="failed", outcome=None, duration_seconds=None))
    assert card[1]["fields"][0]["text"] == "*Duration*\nunknown"
    assert card[1]["fields"][1]["text"] == "*Outcome*\nNo outcome"
    assert card[2]["elements"][0]["text"].startswith(":x: Failed")


def test_result_message_inlines_the_first_lines_and_folds_the_rest() -> None:
    text, message = blocks.result_message(result())
    assert text == "Call with sales: Appointment Booked"
    assert message[0] == {
        "type": "section",
        "text": {"type": "mrkdwn", "text": "*Call summary* · sales"},
    }
    assert message[1]["fields"] == [
        {"type": "mrkdwn", "text": "*Outcome*\nAppointment Booked"},
        {"type": "mrkdwn", "text": "*Duration*\n3 min 7 s"},
        {"type": "mrkdwn", "text": "*Started by*\n<@U0USER1>"},
        {"type": "mrkdwn", "text": "*Agent*\nsales"},
    ]
    assert message[2]["text"]["text"] == (
        "Ada asked about the premium plan &amp; booked a demo for Tuesday &lt;10am&gt;."
    )
    assert message[3] == {"type": "divider"}
    inline = message[4]["text"]["text"]
    assert inline.startswith("*Transcript*\n*Agent:* Hi, this is the sales line.")
    assert inline.count("\n") == blocks.INLINE_LINES
    assert "Tuesday at 10 is perfect" not in inline
    assert message[5] == {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": "4 more lines:"}],
    }
    folded = message[6]["elements"][0]["elements"][0]["text"]
    assert folded.splitlines() == [
        "Agent: Sure, does Tuesday at 10 work for you?",
        "Caller: Tuesday at 10 is perfect.",
        "Agent: Booked. You'll get an invite by email. Anything else?",
        "Caller: No, thanks. Bye!",
    ]
    assert (
        message[-1]["elements"][0]["text"] == "Call `call_8f2c1a`  ·  ended by customer ended call"
    )


def test_a_short_call_has_no_folded_part_and_a_hook_origin_is_named() -> None:
    short = result(
        messages=[{"role": "user", "content": "hello"}],
        origin={"kind": "hook", "name": "hubspot", "context": {}},
        summary=None,
        analysis_missing=True,
    )
    _, message = blocks.result_message(short)
    assert message[1]["fields"][2]["text"] == "*Started by*\nhook `hubspot`"
    assert message[2]["text"]["text"] == "_The analysis was not ready in time._"
    assert message[4]["text"]["text"] == "*Transcript*\n*Caller:* hello"
    assert not any(b["type"] == "rich_text" for b in message)


def test_a_huge_transcript_stays_within_slack_limits() -> None:
    many = [{"role": "assistant", "content": "word " * 200} for _ in range(400)]
    _, message = blocks.result_message(result(messages=many))
    assert len(message) <= 50
    for block in message:
        for text in _texts(block):
            assert len(text) <= 3000
    assert "longer" in json.dumps(message[-2])


def test_duration_format() -> None:
    assert [blocks.format_duration(s) for s in (None, 0, 42.4, 65, 3725)] == [
        "unknown",
        "0 s",
        "42 s",
        "1 min 5 s",
        "1 h 2 min",
    ]


def _texts(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [value["text"]] if isinstance(value.get("text"), str) else []
        return found + [t for v in value.values() for t in _texts(v)]
    if isinstance(value, list):
        return [t for v in value for t in _texts(v)]
    return []


def test_stopping_card_drops_the_stop_button_and_says_stopping() -> None:
    _, card = blocks.call_card(
        call_id="call_1", agent_name="sales", started_by="<@U1>", join_url="https://gw/join/abc"
    )
    stopping = blocks.stopping_card(card, "call_1")
    assert stopping[0] == card[0]
    assert stopping[1] == {
        "type": "context",
        "elements": [
            {"type": "mrkdwn", "text": ":black_square_for_stop: Stopping…  ·  Call `call_1`"}
        ],
    }
    assert [e["action_id"] for e in stopping[2]["elements"]] == ["join_call"]
