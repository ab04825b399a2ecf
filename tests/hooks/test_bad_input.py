"""Bad input gets a clear error, the `{"error": {"code", "message"}}` body, and changes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from tests.support.hooks import Gateway, gateway

CONFIG = """
[agents.sales]
create = { first_message = "Hi!" }

[hooks.new-lead]
agent = "sales"
auth = { scheme = "bearer", token_env = "NEW_LEAD_TOKEN" }
variables = { customer_name = "body.firstname" }
metadata = { crm_contact_id = "body.hs_object_id" }

[hooks.by-agent]
agent_from = "body.agent"
auth = { scheme = "bearer", token_env = "NEW_LEAD_TOKEN" }

[hooks.limited]
agent = "sales"
auth = { scheme = "bearer", token_env = "NEW_LEAD_TOKEN" }
rate_limit = "2/m"

[hooks.make-agent]
action = "create_agent"
auth = { scheme = "bearer", token_env = "MAKE_AGENT_TOKEN" }
agent_fields = { name = "body.agent_name", first_message = "body.greeting" }
"""
AUTH = {"Authorization": "Bearer lead-token-0123456789"}
LEAD = {"hs_object_id": "51", "firstname": "Ada"}


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("NEW_LEAD_TOKEN", "lead-token-0123456789")
    monkeypatch.setenv("MAKE_AGENT_TOKEN", "make-agent-token-0123456789")
    try:
        with gateway(tmp_path_factory.mktemp("bad"), CONFIG) as server:
            yield server
    finally:
        monkeypatch.undo()


def error(response: object, status: int) -> dict[str, str]:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    return dict(body["error"])


def nothing_changed(gw: Gateway) -> None:
    assert gw.count("calls") == 0
    assert gw.count("deliveries") == 0
    assert gw.count("idempotency_keys") == 0


def test_an_unknown_hook_is_404(gw: Gateway) -> None:
    assert error(gw.post("nope", json=LEAD, headers=AUTH), 404)["code"] == "unknown_hook"
    nothing_changed(gw)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "bearer lead-token-0123456789x"},
        {"Authorization": "Basic bGVhZDp0b2tlbg=="},
        {"Authorization": "lead-token-0123456789"},
    ],
)
def test_every_auth_failure_is_the_same_401(gw: Gateway, headers: dict[str, str]) -> None:
    body = error(gw.post("new-lead", json=LEAD, headers=headers), 401)
    assert body == {"code": "unauthorized", "message": "authentication failed"}
    nothing_changed(gw)


def test_a_body_over_one_mebibyte_is_413(gw: Gateway) -> None:
    big = json.dumps({"firstname": "x" * (1024 * 1024)})
    response = gw.post(
        "new-lead", content=big, headers={**AUTH, "Content-Type": "application/json"}
    )
    assert error(response, 413)["code"] == "body_too_large"
    nothing_changed(gw)


def test_a_streamed_body_over_one_mebibyte_is_413(gw: Gateway) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b"x" * 65536

    response = gw.post(
        "new-lead", content=chunks(), headers={**AUTH, "Content-Type": "application/json"}
    )
    assert error(response, 413)["code"] == "body_too_large"
    nothing_changed(gw)


def test_malformed_json_is_400(gw: Gateway) -> None:
    response = gw.post(
        "new-lead", content=b'{"firstname": ', headers={**AUTH, "Content-Type": "application/json"}
    )
    assert error(response, 400)["code"] == "malformed_json"
    nothing_changed(gw)


def test_a_wrong_content_type_is_415(gw: Gateway) -> None:
    response = gw.post("new-lead", data={"firstname": "Ada"}, headers=AUTH)
    assert error(response, 415)["code"] == "unsupported_media_type"
    nothing_changed(gw)


def test_a_missing_mapped_field_is_422_naming_the_expression(gw: Gateway) -> None:
    body = error(gw.post("new-lead", json={"hs_object_id": "51"}, headers=AUTH), 422)
    assert body["code"] == "mapping_failed"
    assert "body.firstname" in body["message"]
    nothing_changed(gw)


def test_a_mapped_field_of_the_wrong_type_is_422(gw: Gateway) -> None:
    lead = {"hs_object_id": "51", "firstname": {"first": "Ada"}}
    body = error(gw.post("new-lead", json=lead, headers=AUTH), 422)
    assert "body.firstname" in body["message"] and "object" in body["message"]
    nothing_changed(gw)


def test_a_json_body_that_is_not_an_object_is_422(gw: Gateway) -> None:
    body = error(gw.post("new-lead", json=["Ada"], headers=AUTH), 422)
    assert "body.firstname" in body["message"]
    nothing_changed(gw)


def test_an_unknown_agent_alias_is_422(gw: Gateway) -> None:
    body = error(gw.post("by-agent", json={"agent": "nobody"}, headers=AUTH), 422)
    assert body["code"] == "unknown_agent" and "nobody" in body["message"]
    nothing_changed(gw)


def test_an_unknown_agent_id_is_422(gw: Gateway) -> None:
    body = error(gw.post("by-agent", json={"agent": "agt_doesnotexist"}, headers=AUTH), 422)
    assert body["code"] == "unknown_agent"
    nothing_changed(gw)


def test_bad_input_with_an_idempotency_key_leaves_the_key_free(gw: Gateway) -> None:
    headers = {**AUTH, "Idempotency-Key": "bad-then-good"}
    error(gw.post("by-agent", json={"agent": "nobody"}, headers=headers), 422)
    nothing_changed(gw)


def test_create_agent_answers_201_and_remembers_the_name(gw: Gateway) -> None:
    headers = {"Authorization": "Bearer make-agent-token-0123456789"}
    payload = {"agent_name": "Support bot", "greeting": "Hello!"}
    response = gw.post("make-agent", json=payload, headers=headers)
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"agent_id", "llm_id"}
    agent = gw.simulator.agents[body["agent_id"]]
    assert agent["name"] == "Support bot" and agent["first_message"] == "Hello!"
    assert gw.count("calls") == 0


def test_create_agent_without_a_name_is_422(gw: Gateway) -> None:
    headers = {"Authorization": "Bearer make-agent-token-0123456789"}
    body = error(gw.post("make-agent", json={"greeting": "Hi"}, headers=headers), 422)
    assert "body.agent_name" in body["message"]


def test_the_rate_limit_answers_429_with_retry_after(gw: Gateway) -> None:
    statuses = [gw.post("limited", json=[], headers=AUTH) for _ in range(3)]
    assert [r.status_code for r in statuses[:2]] == [202, 202]
    limited = statuses[2]
    assert error(limited, 429)["code"] == "rate_limited"
    assert int(limited.headers["Retry-After"]) >= 1


def test_other_methods_get_a_json_405(gw: Gateway) -> None:
    before = gw.count("calls")
    response = httpx.get(f"{gw.url}/hooks/new-lead", headers=AUTH)
    assert error(response, 405)["code"] == "method_not_allowed"
    assert response.headers["Allow"] == "POST"
    assert gw.count("calls") == before
