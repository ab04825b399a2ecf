"""A call's life: initiated -> in_progress -> completed|failed, then messages and analysis."""

from __future__ import annotations

import time

from tests.simulator.harness import RunningSimulator, running_simulator
from tests.support.servers import wait_until


def test_analysis_appears_only_after_the_delay() -> None:
    with running_simulator(analysis_delay=0.6) as sim:
        call_id = sim.new_call(sim.new_agent()["id"])["id"]
        sim.http.post(f"/_sim/calls/{call_id}/join").raise_for_status()
        stopped_at = time.monotonic()
        stop = sim.api("POST", f"/v1/calls/{call_id}/stop")
        assert stop.json() == {"id": call_id, "status": "completed"}
        right_after = sim.call(call_id)
        assert right_after["status"] == "completed" and right_after["end_reason"] == "api_stop"
        assert right_after["messages"] == [] and right_after["analysis"] is None
        done = wait_until(
            lambda: sim.call(call_id)["analysis"] and sim.call(call_id), what="analysis"
        )
        assert time.monotonic() - stopped_at >= 0.5
        assert done["messages"] and done["analysis"]["summary"]
        assert done["ai_summary"] == done["analysis"]["summary"]
        assert done["duration_seconds"] == 0 and done["started_at"] <= done["ended_at"]


def test_a_call_goes_live_by_itself_after_auto_live_after() -> None:
    with running_simulator(auto_live_after=0.2) as sim:
        call_id = sim.new_call(sim.new_agent()["id"])["id"]
        assert sim.call(call_id)["status"] == "initiated"
        live = wait_until(
            lambda: sim.call(call_id)["status"] == "in_progress" and sim.call(call_id),
            timeout=5,
            what="auto live",
        )
        assert live["started_at"] and live["ended_at"] is None


def test_no_auto_live_by_default(sim: RunningSimulator) -> None:
    call_id = sim.new_call(sim.new_agent()["id"])["id"]
    assert sim.state.calls[call_id].timers == {}  # nothing scheduled: it waits for a join
    assert sim.call(call_id)["status"] == "initiated"


def test_a_live_call_ends_at_max_duration() -> None:
    with running_simulator(auto_live_after=0, max_duration_seconds=0.3, analysis_delay=0.1) as sim:
        call_id = sim.new_call(sim.new_agent()["id"])["id"]
        ended = wait_until(
            lambda: sim.call(call_id)["analysis"] and sim.call(call_id), timeout=5, what="end"
        )
        assert ended["status"] == "completed" and ended["end_reason"] == "max_duration"


def test_an_agents_max_duration_wins(sim: RunningSimulator) -> None:
    agent = sim.new_agent()
    sim.api("PATCH", f"/v1/agents/{agent['id']}", json={"max_duration_seconds": 0.2})
    call_id = sim.new_call(agent["id"])["id"]
    sim.http.post(f"/_sim/calls/{call_id}/join").raise_for_status()
    ended = wait_until(
        lambda: sim.call(call_id)["status"] == "completed" and sim.call(call_id), what="max"
    )
    assert ended["end_reason"] == "max_duration"


def test_a_scripted_end_sets_outcome_and_summary(sim: RunningSimulator) -> None:
    call_id = sim.new_call(sim.new_agent()["id"])["id"]
    sim.http.post(f"/_sim/calls/{call_id}/join").raise_for_status()
    body = {"outcome": "appointment booked", "summary": "Booked Thursday."}
    ended = sim.http.post(f"/_sim/calls/{call_id}/end", json=body).json()
    assert ended["status"] == "completed" and ended["end_reason"] == "customer_ended_call"
    done = wait_until(lambda: sim.call(call_id)["analysis"] and sim.call(call_id), what="analysis")
    assert done["analysis"] == {"outcome": "Appointment Booked", "summary": "Booked Thursday."}
    again = sim.http.post(f"/_sim/calls/{call_id}/end", json={})
    assert again.status_code == 409
    assert sim.http.post(f"/_sim/calls/{call_id}/join").status_code == 409


def test_a_scripted_failure(sim: RunningSimulator) -> None:
    call_id = sim.new_call(sim.new_agent()["id"])["id"]
    failed = sim.http.post(f"/_sim/calls/{call_id}/end", json={"failed": True}).json()
    assert failed["status"] == "failed" and failed["end_reason"] == "error"
    sim.api("POST", f"/v1/calls/{call_id}/stop")  # a no-op on an ended call
    done = wait_until(lambda: sim.call(call_id)["analysis"] and sim.call(call_id), what="analysis")
    assert done["status"] == "failed" and done["analysis"]["outcome"] == "Not Connected"
    assert done["messages"] == []


def test_stopping_a_call_nobody_joined(sim: RunningSimulator) -> None:
    call_id = sim.new_call(sim.new_agent()["id"])["id"]
    sim.api("POST", f"/v1/calls/{call_id}/stop")
    done = wait_until(lambda: sim.call(call_id)["analysis"] and sim.call(call_id), what="analysis")
    assert done["started_at"] is None and done["duration_seconds"] == 0
    assert done["analysis"]["outcome"] == "Not Connected"
