"""The /_sim control endpoints: config, stats, reset; faults stay on /v1."""

from __future__ import annotations

import asyncio
import time

from gateway.simulator import SimulatorConfig, SimulatorState
from gateway.simulator.transcripts import OUTCOMES, canned_analysis
from tests.simulator.harness import RunningSimulator


def test_config_can_be_read_and_patched_with_validation(sim: RunningSimulator) -> None:
    config = sim.http.get("/_sim/config").json()
    assert config["analysis_delay"] == 0.2 and config["rate_429"] == 0.0
    assert sim.configure(latency_seconds=0.05)["latency_seconds"] == 0.05
    for bad in ({"rate_429": 2}, {"error_statuses": [404]}, {"no_such_knob": 1}):
        response = sim.http.patch("/_sim/config", json=bad)
        assert response.status_code == 422, bad
    assert sim.http.patch("/_sim/config", content=b"{oops").status_code == 422
    assert sim.http.get("/_sim/config").json()["latency_seconds"] == 0.05


def test_faults_apply_to_v1_only(sim: RunningSimulator) -> None:
    sim.configure(error_rate_5xx=1.0, error_statuses=[502])
    failing = sim.api("GET", "/v1/calls")
    assert failing.status_code == 502 and "detail" in failing.json()
    sim.configure(error_rate_5xx=0.0, rate_429=1.0, retry_after_seconds=3)
    limited = sim.api("GET", "/v1/calls")
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "3"
    assert limited.json() == {"detail": "Rate limit exceeded"}
    for path in ("/_sim/config", "/_sim/stats", "/_sim/rtc"):
        assert sim.http.get(path).status_code == 200


def test_latency_is_added_to_v1_requests_only(sim: RunningSimulator) -> None:
    sim.configure(latency_seconds=0.3)
    started = time.monotonic()
    assert sim.api("GET", "/v1/calls").status_code == 200
    assert time.monotonic() - started >= 0.3
    sim.configure(latency_seconds=30)
    # Were the latency applied here, this would time out long before it answered.
    assert sim.http.get("/_sim/stats", timeout=5).status_code == 200
    sim.configure(latency_seconds=0)


def test_stats_count_requests_per_endpoint_status_and_second(sim: RunningSimulator) -> None:
    agent = sim.new_agent()
    for _ in range(3):
        sim.api("GET", f"/v1/agents/{agent['id']}")
    sim.api("GET", "/v1/agents/agt_missing")
    sim.http.get("/v1/calls")  # no key: counted, answered 401
    stats = sim.stats()
    assert stats["by_endpoint"] == {
        "POST /v1/agents": 1,
        "GET /v1/agents/{id}": 4,
        "GET /v1/calls": 1,
    }
    assert stats["by_status"]["GET /v1/agents/{id}"] == {"200": 3, "404": 1}
    assert stats["by_status"]["GET /v1/calls"] == {"401": 1}
    assert stats["total"] == 6
    assert sum(sum(c.values()) for c in stats["per_second"].values()) == 6
    assert 1 <= stats["max_per_second"]["GET /v1/agents/{id}"] <= 4


def test_reset_forgets_everything_and_restores_the_config(sim: RunningSimulator) -> None:
    sim.new_call(sim.new_agent()["id"])
    sim.configure(rate_429=0.5)
    assert sim.http.post("/_sim/reset").json() == {"reset": True}
    assert sim.stats()["total"] == 0
    assert sim.http.get("/_sim/config").json()["rate_429"] == 0.0
    assert sim.api("GET", "/v1/calls").json()["total"] == 0


def test_transcripts_are_deterministic_per_call_and_varied() -> None:
    first = canned_analysis("call_abc", seed=1, joined=True, variables={"customer_name": "Ada"})
    again = canned_analysis("call_abc", seed=1, joined=True, variables={"customer_name": "Ada"})
    assert first == again
    outcomes = {
        canned_analysis(f"call_{n}", seed=1, joined=True, variables=None).outcome for n in range(60)
    }
    assert outcomes == set(OUTCOMES)  # every outcome, null included, turns up


async def test_ten_thousand_concurrent_calls_use_timers_not_loops() -> None:
    state = SimulatorState(SimulatorConfig(auto_live_after=0.05, analysis_delay=0.05))
    agent = state.create_agent({"name": "Busy"})
    calls = [
        state.create_call(agent["id"], server_url="ws://x", variables={}, metadata={}, overrides={})
        for _ in range(10_000)
    ]
    deadline = time.monotonic() + 20
    while any(c.status != "in_progress" for c in calls):
        assert time.monotonic() < deadline, "calls did not go live"
        await asyncio.sleep(0.05)
    for call in calls:
        state.end_call(call, end_reason="api_stop")
    while any(c.analysis is None for c in calls):
        assert time.monotonic() < deadline, "analyses did not arrive"
        await asyncio.sleep(0.05)
    assert all(c.timers == {} for c in calls)
    await state.aclose()


def test_canned_summaries_say_only_what_their_transcript_says() -> None:
    # A summary names the customer properly (never "there agreed…") and each detail it gives
    # (a day, a time, a topic) is in the conversation it summarises.
    for n in range(200):
        for variables in ({"customer_name": "Ada"}, None):
            canned = canned_analysis(f"call_{n}", seed=3, joined=True, variables=variables)
            assert not canned.summary.lower().startswith("there")
            spoken = " ".join(m["content"] for m in canned.messages).lower()
            for detail in ("thursday", "3 pm", "monday", "9:30", "premium", "webinar", "tracking"):
                if detail in canned.summary.lower():
                    assert detail in spoken, (canned.summary, spoken)
            if variables and canned.outcome not in {"Voicemail", "Not Connected"}:
                assert "Ada" in canned.summary
