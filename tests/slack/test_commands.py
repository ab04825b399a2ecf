"""`/voice` end to end over HTTP: a real gateway, the simulator, a fake Slack API."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from tests.slack.conftest import SlackRig, make_rig
from tests.slack.signing import signed_headers
from tests.support.servers import wait_until

CHANNEL = "C0GENERAL"


def buttons(message: dict[str, Any]) -> dict[str, dict[str, Any]]:
    actions = next(b for b in message["blocks"] if b["type"] == "actions")
    return {e["action_id"]: e for e in actions["elements"]}


def interaction(rig: SlackRig, payload: dict[str, Any]) -> httpx.Response:
    body = urlencode({"payload": json.dumps(payload)})
    return rig.post(body, signed_headers(body))


def test_call_is_acked_fast_even_when_oneinbox_is_slow_and_posts_a_card(rig: SlackRig) -> None:
    rig.sim("PATCH", "/_sim/config", json={"latency_seconds": 2.5})
    started = time.monotonic()
    response = rig.command('call sales customer_name="Ada"')
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert elapsed < 1.0, f"ack took {elapsed:.2f}s"
    assert "Starting a call with *sales*" in response.text

    card = wait_until(lambda: rig.fake.posts(CHANNEL), timeout=20, what="card")[0]
    found = buttons(card)
    assert found["join_call"]["url"].startswith(rig.gateway.url + "/join/")
    assert httpx.get(found["join_call"]["url"]).status_code == 200
    assert "<@U0USER1>" in card["blocks"][0]["text"]["text"]
    assert "sales" in card["blocks"][0]["text"]["text"]
    assert card["metadata"]["event_type"] == "oneinbox_call_card"

    (call,) = wait_until(lambda: [c for c in rig.stored_calls() if c.origin_context.get("card")])
    assert found["stop_call"]["value"] == call.id
    assert call.origin_kind == "slack"
    assert call.origin_context["card"] == {"channel": CHANNEL, "ts": card["ts"]}
    assert call.destinations == [
        {
            "kind": "slack",
            "key": f"slack:{CHANNEL}",
            "config": {"channel": CHANNEL, "team_id": "T0001", "thread_ts": card["ts"]},
        }
    ]
    upstream = rig.sim("GET", f"/v1/calls/{call.id}").json()
    assert upstream["variables"] == {"customer_name": "Ada"}


def test_the_api_key_and_tokens_never_reach_slack(rig: SlackRig) -> None:
    rig.command("call sales")
    wait_until(lambda: rig.fake.posts(CHANNEL), timeout=20, what="card")
    rig.command("call nobody")
    wait_until(lambda: rig.fake.responses, what="answer")
    sent = json.dumps([c.args for c in rig.fake.calls]) + json.dumps(rig.responses())
    assert "oi_sk_" not in sent
    assert "participant_token" not in sent and "eyJ" not in sent  # no JWT in a message


def test_unknown_agent_gets_a_clear_answer_and_no_call(rig: SlackRig) -> None:
    assert rig.command("call nobody").status_code == 200
    answer = wait_until(rig.responses)[0]
    assert "I don't know the agent `nobody`" in answer["text"]
    assert rig.upstream_calls() == 0 and rig.stored_calls() == []


@pytest.mark.parametrize(
    ("text", "usage"),
    [
        ("call", "Usage: `/voice call <agent> [live=yes] [key=value…]`"),
        ("call sales Ada", "Usage: `/voice call <agent> [live=yes] [key=value…]`"),
        ("stop", "Usage: `/voice stop <call id>`"),
        ("agent set bob", "Usage: `/voice agent set <agent> key=value…`"),
        ("prompt bob", "Usage: `/voice prompt <agent>"),
        ("dance", "/voice call <agent>"),
    ],
)
def test_a_grammar_mistake_is_answered_with_its_usage_and_creates_nothing(
    rig: SlackRig, text: str, usage: str
) -> None:
    response = rig.command(text)
    assert response.status_code == 200
    assert usage in response.text
    time.sleep(0.2)
    assert rig.upstream_calls() == 0 and rig.upstream_agents_created() == 0


def test_help_lists_every_sub_command(rig: SlackRig) -> None:
    response = rig.command("help")
    for line in (
        "call <agent>",
        "stop <call id>",
        "status <call id>",
        "agents",
        "agent create",
        "agent set",
        "prompt <agent>",
    ):
        assert line in response.text
    assert "/voice call <agent> [live=yes] [key=value…]" in response.text
    assert "`live=yes` shows the conversation in the call's thread while it runs" in response.text


def test_stop_button_and_status(rig: SlackRig) -> None:
    rig.command("call sales")
    card = wait_until(lambda: rig.fake.posts(CHANNEL), timeout=20, what="card")[0]
    call_id = buttons(card)["stop_call"]["value"]

    rig.command(f"status {call_id}")
    status = wait_until(lambda: [r for r in rig.responses() if "Waiting for someone" in r["text"]])
    assert call_id in status[0]["text"] and "<@U0USER1>" in status[0]["text"]

    payload = {
        "type": "block_actions",
        "user": {"id": "U0USER2", "name": "bob"},
        "team": {"id": "T0001"},
        "api_app_id": "A0001",
        "channel": {"id": CHANNEL},
        "container": {"type": "message", "message_ts": card["ts"], "channel_id": CHANNEL},
        "message": card,
        "response_url": rig.response_url,
        "trigger_id": "1.2.3",
        "actions": [
            {
                "action_id": "stop_call",
                "block_id": "call_actions",
                "value": call_id,
                "type": "button",
            }
        ],
    }
    assert interaction(rig, payload).status_code == 200
    wait_until(
        lambda: rig.sim("GET", f"/v1/calls/{call_id}").json()["status"] == "completed",
        what="stopped upstream",
    )
    updated = wait_until(
        lambda: (
            rig.fake.message(CHANNEL, card["ts"]).get("edited")
            and rig.fake.message(CHANNEL, card["ts"])
        )
    )
    assert "Stopping…" in json.dumps(updated["blocks"], ensure_ascii=False)
    assert "stop_call" not in json.dumps(updated["blocks"])


def test_stop_and_status_of_an_unknown_call(rig: SlackRig) -> None:
    rig.command("stop call_nope")
    rig.command("status call_nope")
    answers = wait_until(lambda: len(rig.responses()) >= 2 and rig.responses())
    assert all("I don't know call `call_nope`" in a["text"] for a in answers)
    assert (
        rig.sim("GET", "/_sim/stats").json()["by_endpoint"].get("POST /v1/calls/{id}/stop") is None
    )


def test_agents_create_set_and_prompt(rig: SlackRig) -> None:
    rig.command('agent create "Front Desk" first_message="Welcome!" max_duration_seconds=120')
    created = wait_until(lambda: [r for r in rig.responses() if "is ready" in r["text"]])[0]
    agent_id = created["text"].split("`")[1]
    agent = rig.sim("GET", f"/v1/agents/{agent_id}").json()
    assert agent["name"] == "Front Desk" and agent["first_message"] == "Welcome!"

    rig.command('agent set "Front Desk" language=fr enable_recording=false')
    wait_until(
        lambda: [r for r in rig.responses() if "updated: enable_recording, language" in r["text"]]
    )
    agent = rig.sim("GET", f"/v1/agents/{agent_id}").json()
    assert agent["language"] == "fr" and agent["enable_recording"] is False

    rig.command('prompt "Front Desk" temperature=0.2 Réponds toujours poliment, s\'il te plaît.')
    wait_until(lambda: [r for r in rig.responses() if "prompt of" in r["text"]])
    model = rig.sim("GET", f"/v1/models/{agent['llm_id']}").json()
    assert model["system_prompt"] == "Réponds toujours poliment, s'il te plaît."
    assert model["temperature"] == 0.2

    rig.command("agents")
    listing = wait_until(
        lambda: [r for r in rig.responses() if "Agents you can call" in r["text"]]
    )[0]
    assert "Front Desk" in listing["text"] and "sales" in listing["text"]


def test_agent_create_without_a_name_opens_a_modal(rig: SlackRig) -> None:
    assert rig.command("agent create").status_code == 200
    (opened,) = wait_until(lambda: rig.fake.called("views.open"))
    view = opened.args["view"]
    assert opened.args["trigger_id"] == "1337.42.abcd"
    assert view["callback_id"] == "agent_create_modal"

    def submit(name: str) -> httpx.Response:
        return interaction(
            rig,
            {
                "type": "view_submission",
                "user": {"id": "U0USER1"},
                "team": {"id": "T0001"},
                "api_app_id": "A0001",
                "trigger_id": "1.2.3",
                "view": {
                    **view,
                    "id": "V0001",
                    "state": {
                        "values": {"name": {"name": {"type": "plain_text_input", "value": name}}}
                    },
                },
            },
        )

    empty = submit("  ")
    assert empty.status_code == 200
    assert empty.json() == {
        "response_action": "errors",
        "errors": {"name": "Give the agent a name."},
    }
    assert rig.upstream_agents_created() == 0

    assert submit("Night Shift").status_code == 200
    (note,) = wait_until(lambda: rig.fake.called("chat.postEphemeral"))
    assert note.args["channel"] == CHANNEL and note.args["user"] == "U0USER1"
    assert "Night Shift" in note.args["text"] and rig.upstream_agents_created() == 1


@pytest.fixture
def admin_rig(tmp_path: Path) -> Iterator[SlackRig]:
    yield from make_rig(tmp_path, slack_admin_users="UADMIN1, UADMIN2")


@pytest.mark.parametrize(
    "text", ["agent create bob", "agent set sales language=de", "prompt sales Be nice"]
)
def test_only_admins_may_create_or_change_agents(admin_rig: SlackRig, text: str) -> None:
    refused = admin_rig.command(text, user_id="U0SOMEONE")
    assert "Sorry" in refused.text and "<@UADMIN1>" in refused.text
    time.sleep(0.2)
    assert admin_rig.upstream_agents_created() == 0
    assert admin_rig.fake.responses == []
    allowed = admin_rig.command("agent create bob", user_id="UADMIN2")
    assert "Creating agent" in allowed.text
    wait_until(lambda: admin_rig.upstream_agents_created() == 1)


def test_anyone_may_start_a_call_when_admins_are_set(admin_rig: SlackRig) -> None:
    admin_rig.command("call sales", user_id="U0SOMEONE")
    wait_until(lambda: admin_rig.fake.posts(CHANNEL), timeout=20, what="card")


def test_stop_button_of_an_unknown_call_puts_the_card_back(rig: SlackRig) -> None:
    rig.command("call sales")
    card = wait_until(lambda: rig.fake.posts(CHANNEL), timeout=20, what="card")[0]
    payload = {
        "type": "block_actions",
        "user": {"id": "U0USER2"},
        "team": {"id": "T0001"},
        "api_app_id": "A0001",
        "channel": {"id": CHANNEL},
        "container": {"type": "message", "message_ts": card["ts"], "channel_id": CHANNEL},
        "message": card,
        "response_url": rig.response_url,
        "trigger_id": "1.2.3",
        "actions": [
            {
                "action_id": "stop_call",
                "block_id": "call_actions",
                "value": "call_nope",
                "type": "button",
            }
        ],
    }
    assert interaction(rig, payload).status_code == 200
    assert wait_until(
        lambda: [r for r in rig.responses() if "I don't know call `call_nope`" in r["text"]]
    )
    restored = wait_until(
        lambda: (
            rig.fake.message(CHANNEL, card["ts"]).get("edited") == 2
            and rig.fake.message(CHANNEL, card["ts"])
        )
    )
    assert restored["blocks"] == card["blocks"]
