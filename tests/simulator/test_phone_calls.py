"""Outbound phone calls (`POST /v1/calls`): queued, ringing, then answered or failed."""

from __future__ import annotations

from typing import Any

import pytest

from tests.simulator.harness import RunningSimulator, running_simulator
from tests.support.servers import wait_until

FAST = {
    "analysis_delay": 0.1,
    "phone_dial_seconds": 0.1,
    "phone_answer_after": 0.2,
    "phone_ring_timeout": 0.3,
}
NUMBER = "+14155550123"


def dial(sim: RunningSimulator, to_number: str = NUMBER, **body: Any) -> dict[str, Any]:
    agent_id = sim.new_agent()["id"]
    response = sim.api(
        "POST", "/v1/calls", json={"agent_id": agent_id, "to_number": to_number, **body}
    )
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def statuses_until_analysed(
    sim: RunningSimulator, call_id: str
) -> tuple[list[str], dict[str, Any]]:
    """Every status seen while polling, and the record once its analysis is in."""
    seen: list[str] = []

    def look() -> dict[str, Any] | None:
        record = sim.call(call_id)
        if not seen or seen[-1] != record["status"]:
            seen.append(record["status"])
        return record if record["analysis"] else None

    return seen, wait_until(look, timeout=10, interval=0.02, what="the analysis")


def test_an_answered_call_rings_goes_live_and_completes() -> None:
    with running_simulator(**FAST, phone_hangup_after=0.3) as sim:
        call = dial(sim, variables={"customer_name": "Ada"}, from_number="+12125550199")
        assert call["type"] == "outbound" and call["status"] == "queued"
        assert call["to_number"] == NUMBER and call["from_number"] == "+12125550199"
        seen, done = statuses_until_analysed(sim, call["id"])
    assert seen[:1] == ["queued"] and "initiated" in seen and "in_progress" in seen
    assert seen[-1] == "completed"
    assert done["end_reason"] == "customer_ended_call" and done["started_at"]
    assert done["messages"] and done["to_number"] == NUMBER


@pytest.mark.parametrize(
    ("pickup", "outcome"),
    [
        ("no_answer", "Not Connected"),
        ("busy", "Not Connected"),
        ("invalid_number", "Not Connected"),
        ("voicemail", "Voicemail"),
    ],
)
def test_a_call_nobody_talks_to_fails_with_its_reason_and_outcome(
    pickup: str, outcome: str
) -> None:
    with running_simulator(**FAST, phone_pickup=pickup) as sim:
        call = dial(sim)
        seen, done = statuses_until_analysed(sim, call["id"])
    assert "in_progress" not in seen and seen[-1] == "failed"
    assert done["end_reason"] == pickup
    assert done["analysis"]["outcome"] == outcome and done["messages"] == []
    assert done["started_at"] is None and done["duration_seconds"] == 0


def test_rings_then_fails_no_answer_only_after_the_ring_timeout() -> None:
    with running_simulator(**{**FAST, "phone_ring_timeout": 0.6}, phone_pickup="no_answer") as sim:
        call_id = dial(sim)["id"]
        wait_until(lambda: sim.call(call_id)["status"] == "initiated", what="ringing")
        assert sim.call(call_id)["status"] == "initiated"  # still ringing, not failed yet
        done = wait_until(lambda: sim.call(call_id)["status"] == "failed" and sim.call(call_id))
    assert done["end_reason"] == "no_answer"


def test_a_number_can_have_its_own_pickup() -> None:
    with running_simulator(**FAST, phone_numbers={"+12125550199": "busy"}) as sim:
        busy = dial(sim, "+12125550199")["id"]
        answered = dial(sim)["id"]
        wait_until(lambda: sim.call(busy)["status"] == "failed", what="busy")
        wait_until(lambda: sim.call(answered)["status"] == "in_progress", what="answered")
        assert sim.call(busy)["end_reason"] == "busy"


def test_a_call_that_stays_on_the_line_ends_when_stopped() -> None:
    with running_simulator(**FAST, phone_hangup_after=None) as sim:
        call_id = dial(sim)["id"]
        wait_until(lambda: sim.call(call_id)["status"] == "in_progress", what="answered")
        stop = sim.api("POST", f"/v1/calls/{call_id}/stop")
        assert stop.json() == {"id": call_id, "status": "completed"}
        assert sim.call(call_id)["end_reason"] == "api_stop"


@pytest.mark.parametrize(
    "number",
    ["4155550123", "(415) 555-0123", "+0123456", "+1 415 555 0123", "", "+1234567890123456"],
)
def test_a_number_that_is_not_e164_gets_422_and_no_call(sim: RunningSimulator, number: str) -> None:
    agent_id = sim.new_agent()["id"]
    response = sim.api("POST", "/v1/calls", json={"agent_id": agent_id, "to_number": number})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "to_number"]
    assert sim.state.calls == {}


def test_an_unknown_agent_gets_404(sim: RunningSimulator) -> None:
    response = sim.api("POST", "/v1/calls", json={"agent_id": "agt_nope", "to_number": NUMBER})
    assert response.status_code == 404
    assert sim.state.calls == {}


def test_phone_calls_are_listed_with_their_type(sim: RunningSimulator) -> None:
    call_id = dial(sim)["id"]
    page = sim.api("GET", "/v1/calls").json()
    assert [(c["id"], c["type"], c["to_number"]) for c in page["items"]] == [
        (call_id, "outbound", NUMBER)
    ]
