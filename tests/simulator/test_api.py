"""The simulated /v1 API answers like the documented OneInbox API."""

from __future__ import annotations

from tests.simulator.harness import RunningSimulator, running_simulator
from tests.support.servers import wait_until


def test_bearer_auth_guards_v1(sim: RunningSimulator) -> None:
    for headers in ({}, {"Authorization": "Bearer"}, {"Authorization": "Basic oi_sk_x"}):
        response = sim.http.post("/v1/agents", json={"name": "x"}, headers=headers)
        assert response.status_code == 401 and response.json() == {"detail": "Invalid API key"}
    wrong_kind = sim.http.get("/v1/calls", headers={"Authorization": "Bearer oi_pk_public"})
    assert wrong_kind.status_code == 401
    assert sim.api("GET", "/v1/calls").status_code == 200
    assert sim.state.agents == {}


def test_a_fixed_key_set_refuses_other_secret_keys() -> None:
    with running_simulator(api_keys=["oi_sk_only"]) as sim:
        assert sim.api("GET", "/v1/calls").status_code == 401
        ok = sim.http.get("/v1/calls", headers={"Authorization": "Bearer oi_sk_only"})
        assert ok.status_code == 200


def test_creating_an_agent_creates_its_model(sim: RunningSimulator) -> None:
    agent = sim.new_agent("Front desk")
    assert agent["id"].startswith("agt_") and agent["llm_id"].startswith("llm_")
    assert agent["name"] == "Front desk" and agent["created_at"].endswith("Z")
    model = sim.api("GET", f"/v1/models/{agent['llm_id']}").json()
    assert model["id"] == agent["llm_id"] and model["temperature"] == 0.7


def test_invalid_input_gets_422_with_loc_and_changes_nothing(sim: RunningSimulator) -> None:
    missing = sim.api("POST", "/v1/agents", json={"language": "en"})
    assert missing.status_code == 422
    [item] = missing.json()["detail"]
    assert item["loc"] == ["body", "name"] and item["msg"]
    assert sim.api("POST", "/v1/agents", content=b"{not json").status_code == 422
    agent = sim.new_agent()
    hot = sim.api("PATCH", f"/v1/models/{agent['llm_id']}", json={"temperature": 2.5})
    assert hot.status_code == 422 and hot.json()["detail"][0]["loc"] == ["body", "temperature"]
    assert sim.api("GET", f"/v1/models/{agent['llm_id']}").json()["temperature"] == 0.7
    odd = sim.api("PATCH", f"/v1/agents/{agent['id']}", json={"interruption_sensitivity": 3})
    assert odd.status_code == 422
    bad_hook = sim.api("POST", "/v1/webhooks", json={"name": "w", "url": "x", "events": ["no"]})
    assert bad_hook.status_code == 422 and len(bad_hook.json()["detail"]) == 2


def test_patches_apply_at_once(sim: RunningSimulator) -> None:
    agent = sim.new_agent()
    patched = sim.api(
        "PATCH", f"/v1/agents/{agent['id']}", json={"first_message": "Hi", "tts": {"speed": 1.1}}
    ).json()
    assert patched["first_message"] == "Hi" and patched["tts"] == {"speed": 1.1}
    assert patched["llm_id"] == agent["llm_id"]
    assert sim.api("GET", f"/v1/agents/{agent['id']}").json()["first_message"] == "Hi"
    model = sim.api(
        "PATCH", f"/v1/models/{agent['llm_id']}", json={"system_prompt": "Be kind."}
    ).json()
    assert model["system_prompt"] == "Be kind."


def test_unknown_resources_get_404_detail(sim: RunningSimulator) -> None:
    cases = {
        ("GET", "/v1/agents/agt_nope"): "Agent not found",
        ("PATCH", "/v1/models/llm_nope"): "Model not found",
        ("GET", "/v1/calls/call_nope"): "Call not found",
        ("POST", "/v1/calls/call_nope/stop"): "Call not found",
        ("DELETE", "/v1/webhooks/wh_nope"): "Webhook not found",
    }
    for (method, path), detail in cases.items():
        response = sim.api(method, path, json={})
        assert (response.status_code, response.json()) == (404, {"detail": detail}), path
    nobody = sim.api("POST", "/v1/calls/web", json={"agent_id": "agt_nope"})
    assert nobody.status_code == 404 and nobody.json() == {"detail": "Agent not found"}


def test_web_call_answer_shape(sim: RunningSimulator) -> None:
    agent = sim.new_agent()
    call = sim.new_call(agent["id"], metadata={"k": "v"}, variables={"customer_name": "Ada"})
    assert set(call) == {
        "id", "agent_id", "type", "status", "room_name", "server_url", "participant_token",
        "created_at",
    }  # fmt: skip
    assert call["id"].startswith("call_") and call["type"] == "web"
    assert call["status"] == "initiated"
    record = sim.call(call["id"])
    assert record["metadata"] == {"k": "v"} and record["variables"] == {"customer_name": "Ada"}
    assert record["messages"] == [] and record["analysis"] is None
    assert record["duration_seconds"] is None


def test_list_calls_filters_and_pages(sim: RunningSimulator) -> None:
    first, second = sim.new_agent("A"), sim.new_agent("B")
    mine = [sim.new_call(first["id"])["id"] for _ in range(5)]
    sim.new_call(second["id"])
    sim.api("POST", f"/v1/calls/{mine[1]}/stop")

    def page(**params: object) -> dict[str, object]:
        response = sim.api("GET", "/v1/calls", params=params)
        assert response.status_code == 200, response.text
        result: dict[str, object] = response.json()
        return result

    everything = page()
    assert (everything["total"], everything["limit"], everything["offset"]) == (6, 20, 0)
    seen: list[str] = []
    for offset in range(0, 6, 2):
        chunk = page(agent_id=first["id"], limit=2, offset=offset)
        assert chunk["total"] == 5
        seen += [item["id"] for item in chunk["items"]]  # type: ignore[attr-defined]
    assert seen == mine[::-1]
    done = page(status="completed")
    assert [item["id"] for item in done["items"]] == [mine[1]]  # type: ignore[attr-defined]
    for bad in ({"limit": 0}, {"limit": 101}, {"offset": -1}, {"limit": "many"}):
        response = sim.api("GET", "/v1/calls", params=bad)
        assert response.status_code == 422, bad
        assert response.json()["detail"][0]["loc"][0] == "query"


def test_outcome_override_is_stored_title_case(sim: RunningSimulator) -> None:
    agent = sim.new_agent()
    call_id = sim.new_call(agent["id"])["id"]
    early = sim.api("PATCH", f"/v1/calls/{call_id}", json={"outcome": "not interested"})
    assert early.status_code == 200 and early.json()["analysis"] is None  # not analysed yet
    sim.api("POST", f"/v1/calls/{call_id}/stop")
    analysed = wait_until(lambda: sim.call(call_id)["analysis"], what="analysis")
    assert analysed["outcome"] == "Not Interested"
    late = sim.api("PATCH", f"/v1/calls/{call_id}", json={"outcome": "appointment booked"})
    assert late.json()["analysis"]["outcome"] == "Appointment Booked"
    assert sim.api("PATCH", f"/v1/calls/{call_id}", json={"outcome": ""}).status_code == 422


def test_webhook_crud(sim: RunningSimulator) -> None:
    created = sim.api(
        "POST",
        "/v1/webhooks",
        json={"name": "crm", "url": "https://example.test/h", "events": ["call.ended"]},
    )
    assert created.status_code == 201
    hook = created.json()
    assert hook["id"].startswith("wh_") and hook["secret"].startswith("whsec_")
    listed = sim.api("GET", "/v1/webhooks").json()
    assert [h["id"] for h in listed] == [hook["id"]] and "secret" not in listed[0]
    patched = sim.api("PATCH", f"/v1/webhooks/{hook['id']}", json={"events": ["call.failed"]})
    assert patched.json()["events"] == ["call.failed"]
    assert sim.api("DELETE", f"/v1/webhooks/{hook['id']}").status_code == 204
    assert sim.api("GET", "/v1/webhooks").json() == []
