"""`/voice call demo live=yes` in local mode: the turns appear in the card's thread as the
simulated call speaks, are edited in place, end complete, within Slack's rate limits."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from integrations.slack.cards import card_metadata
from integrations.slack.live import LIVE_EVENT
from tests.slack.conftest import SlackRig, make_rig
from tests.support.servers import wait_until

CHANNEL = "C0GENERAL"
DEMO = """
[agents.demo]
create = { first_message = "Hi, this is the demo line." }
"""


@pytest.fixture
def live_rig(tmp_path: Path) -> Iterator[SlackRig]:
    yield from make_rig(tmp_path, extra_config=DEMO)


def live_turns(rig: SlackRig, card_ts: str) -> list[dict[str, Any]]:
    return [
        m
        for m in rig.fake.replies(CHANNEL, card_ts)
        if (m.get("metadata") or {}).get("event_type") == LIVE_EVENT
    ]


def card_of(rig: SlackRig, call_id: str) -> str | None:
    for message in rig.fake.posts(CHANNEL):
        if message.get("metadata") == card_metadata(call_id):
            return str(message["ts"])
    return None


def busiest_second(times: list[float]) -> int:
    """The most calls inside any one-second window."""
    times = sorted(times)
    return max((sum(1 for t in times if start <= t < start + 1) for start in times), default=0)


def test_live_yes_shows_the_turns_while_the_call_runs_and_ends_complete(
    live_rig: SlackRig,
) -> None:
    rig = live_rig
    rig.fake.enforce_rate_limits()
    # The longest canned conversation: four turns of a dozen words.
    rig.sim("PATCH", "/_sim/config", json={"outcome": "Appointment Booked"})
    assert rig.command("call demo live=yes customer_name=Ada").status_code == 200
    call = wait_until(lambda: rig.stored_calls(), timeout=15, what="the call stored")[0]
    assert call.destinations[0]["config"]["live"] is True
    assert "live" not in (call.origin_context or {})  # an option, never a variable
    card_ts = wait_until(lambda: card_of(rig, call.id), timeout=15, what="the card")
    wait_until(lambda: rig.sim("GET", "/v1/webhooks").json(), timeout=10, what="webhook registered")
    assert rig.sim("POST", f"/_sim/calls/{call.id}/join").status_code == 200

    # While the simulated call is still live, turns show up in the thread, partial first.
    seen_partial = False

    def two_turns_so_far() -> bool:
        nonlocal seen_partial
        turns = live_turns(rig, card_ts)
        seen_partial = seen_partial or any(m["text"].endswith(" …") for m in turns)
        return len(turns) >= 2

    wait_until(two_turns_so_far, timeout=20, interval=0.05, what="two live turns")
    assert rig.sim("GET", f"/v1/calls/{call.id}").json()["status"] == "in_progress"
    assert seen_partial, "a turn was shown while it was being spoken"
    assert any(m.get("edited") for m in live_turns(rig, card_ts)), "turns are edited in place"

    # Let the script finish, then end the call: the thread ends with the full final text.
    wait_until(
        lambda: (
            len(live_turns(rig, card_ts)) >= 3
            and not any(m["text"].endswith(" …") for m in live_turns(rig, card_ts))
        ),
        timeout=30,
        what="the scripted conversation spoken",
    )
    assert rig.sim("POST", f"/_sim/calls/{call.id}/end", json={}).status_code == 200
    messages = wait_until(
        lambda: rig.sim("GET", f"/v1/calls/{call.id}").json()["messages"], timeout=15
    )
    speaker = {"agent": "Agent", "user": "Caller"}
    expected = [f"*{speaker[m['role']]}:* {m['content']}" for m in messages]
    wait_until(
        lambda: [m["text"] for m in live_turns(rig, card_ts)] == expected,
        timeout=20,
        what=f"the thread to show {expected}",
    )
    wait_until(
        lambda: any(
            (m.get("metadata") or {}).get("event_type") == "oneinbox_call_result"
            for m in rig.fake.replies(CHANNEL, card_ts)
        ),
        timeout=20,
        what="the result in the thread",
    )

    # Within Slack's limits: no 429 storm, never more than a burst in any second.
    for method in ("chat.postMessage", "chat.update"):
        times = [c.at for c in rig.fake.called(method) if c.args.get("channel") == CHANNEL]
        assert busiest_second(times) <= 4, (method, busiest_second(times))
        print(f"\nlive: {method} {len(times)} calls, at most {busiest_second(times)} in a second")
    print(f"live: {len(rig.fake.limited)} answered 429")
    assert len(rig.fake.limited) <= 2, [(c.method, c.at) for c in rig.fake.limited]


def test_without_live_the_thread_gets_only_the_result(live_rig: SlackRig) -> None:
    rig = live_rig
    assert rig.command("call demo").status_code == 200
    call = wait_until(lambda: rig.stored_calls(), timeout=15, what="the call stored")[0]
    card_ts = wait_until(lambda: card_of(rig, call.id), timeout=15, what="the card")
    wait_until(lambda: rig.sim("GET", "/v1/webhooks").json(), timeout=10)
    rig.sim("POST", f"/_sim/calls/{call.id}/join")
    wait_until(
        lambda: rig.sim("GET", f"/v1/calls/{call.id}").json()["status"] == "in_progress",
        timeout=10,
    )
    rig.sim("POST", f"/_sim/calls/{call.id}/end", json={})
    wait_until(lambda: rig.fake.replies(CHANNEL, card_ts), timeout=20, what="the result")
    assert live_turns(rig, card_ts) == []
