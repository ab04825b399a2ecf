"""Phone calls between real processes: `serve` against `simulate` over HTTP, polled only.

Every ending of a phone call reaches the signed callback, and a OneInbox that fails the
dialling request is never asked twice (a second request could ring the phone twice).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.calls.harness import HOOK_TOKEN, create_agent, remote_env, simulator_process
from tests.support.receiver import CallbackReceiver
from tests.support.servers import GatewayProcess, gateway_process, serve_app, wait_until

ENDINGS = {
    "(415) 555-0100": ("+14155550100", "completed", "call.completed", None),
    "(415) 555-0101": ("+14155550101", "no_answer", "call.failed", "Not Connected"),
    "(415) 555-0102": ("+14155550102", "busy", "call.failed", "Not Connected"),
    "(415) 555-0103": ("+14155550103", "voicemail", "call.failed", "Voicemail"),
    "(415) 555-0104": ("+14155550104", "invalid_number", "call.failed", "Not Connected"),
}


def phone_toml(agent_id: str, callback_url: str) -> str:
    return f"""
[agents.tester]
id = "{agent_id}"

[hooks.crm]
action = "start_phone_call"
agent = "tester"
to_number = "body.phone"
auth = {{ scheme = "bearer", token_env = "TEST_HOOK_TOKEN" }}
notify = [{{ callback_url = "{callback_url}", secret_env = "TEST_RECEIVER_SECRET" }}]
"""


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[GatewayProcess]:
    process = simulator_process(tmp_path, "--analysis-delay", "0.2").start(ready_path="/")
    try:
        yield process
    finally:
        process.stop()


def dial(gateway_url: str, phone: str) -> httpx.Response:
    return httpx.post(
        gateway_url + "/hooks/crm",
        json={"phone": phone},
        headers={"Authorization": f"Bearer {HOOK_TOKEN}"},
        timeout=30,
    )


def serve(
    tmp_path: Path, env: dict[str, str], sim_url: str, receiver: CallbackReceiver, rx: str
) -> Any:
    config = tmp_path / "gateway.toml"
    config.write_text(phone_toml(create_agent(sim_url), rx + "/hook"))
    env = remote_env(
        {**env, "PHONE_DEFAULT_REGION": "US"},
        sim_url=sim_url,
        config_path=config,
        secrets={"TEST_RECEIVER_SECRET": receiver.secret},
    )
    return gateway_process(env, log_path=tmp_path / "gateway.log")


@pytest.mark.timeout(120)
def test_every_ending_of_a_phone_call_reaches_the_callback(
    tmp_path: Path, gateway_env: dict[str, str], sim: GatewayProcess
) -> None:
    knobs = {
        "phone_dial_seconds": 0.1,
        "phone_answer_after": 0.2,
        "phone_ring_timeout": 0.5,
        "phone_hangup_after": 0.5,
        "phone_numbers": {e164: pickup for e164, pickup, _, _ in ENDINGS.values()},
    }
    knobs["phone_numbers"]["+14155550100"] = "human"
    assert httpx.patch(sim.url + "/_sim/config", json=knobs).status_code == 200
    receiver = CallbackReceiver()
    with (
        serve_app(receiver.app) as rx,
        serve(tmp_path, gateway_env, sim.url, receiver, rx.url) as gw,
    ):
        started = {}
        for typed, (e164, _, _, _) in ENDINGS.items():
            answer = dial(gw.url, typed)
            assert answer.status_code == 202, answer.text
            assert answer.json()["to_number"] == e164
            started[answer.json()["call_id"]] = typed
        wait_until(
            lambda: set(started) <= receiver.accepted_call_ids(),
            timeout=60,
            what="every phone call's result",
        )
    for post in receiver.accepted():
        assert post.verified
        data = post.payload["data"]
        e164, reason, event, outcome = ENDINGS[started[data["call_id"]]]
        assert (data["type"], data["to_number"]) == ("outbound", e164)
        assert post.payload["type"] == event
        if reason == "completed":
            assert data["status"] == "completed" and data["messages"]
        else:
            assert (data["status"], data["end_reason"], data["outcome"]) == (
                "failed",
                reason,
                outcome,
            )


@pytest.mark.timeout(60)
def test_a_failed_dial_request_is_never_sent_twice(
    tmp_path: Path, gateway_env: dict[str, str], sim: GatewayProcess
) -> None:
    receiver = CallbackReceiver()
    with (
        serve_app(receiver.app) as rx,
        serve(tmp_path, gateway_env, sim.url, receiver, rx.url) as gw,
    ):
        assert (
            httpx.patch(sim.url + "/_sim/config", json={"error_rate_5xx": 1.0}).status_code == 200
        )
        answer = dial(gw.url, "+1 415 555 0123")
        assert answer.status_code == 502, answer.text
        assert answer.json()["error"]["code"] == "upstream_unavailable"
        stats = httpx.get(sim.url + "/_sim/stats").json()
        assert stats["by_endpoint"].get("POST /v1/calls") == 1
