"""`action = "start_phone_call"`: a CRM asks the gateway to ring a lead, and hears the result."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.hooks import Gateway, gateway
from tests.support.receiver import CallbackReceiver
from tests.support.servers import serve_app, wait_until

AUTH = {"Authorization": "Bearer lead-token-0123456789"}
# Every ending of a phone call, by number (the simulator's `phone_numbers`).
ENDINGS = {
    "+14155550101": ("no_answer", "Not Connected"),
    "+14155550102": ("busy", "Not Connected"),
    "+14155550103": ("voicemail", "Voicemail"),
    "+14155550104": ("invalid_number", "Not Connected"),
}
FAST_PHONE = {
    "analysis_delay": 0.1,
    "phone_dial_seconds": 0.05,
    "phone_answer_after": 0.1,
    "phone_ring_timeout": 0.3,
    "phone_hangup_after": 0.3,
    "phone_numbers": {number: pickup for number, (pickup, _) in ENDINGS.items()},
}


def config(callback_url: str, *, extra: str = "") -> str:
    return f"""
[agents.sales]
create = {{ first_message = "Hi, this is Acme." }}

[hooks.ring-lead]
action = "start_phone_call"
agent = "sales"
to_number = "body.phone"
auth = {{ scheme = "bearer", token_env = "NEW_LEAD_TOKEN" }}
variables = {{ customer_name = "body.name" }}
notify = [{{ callback_url = "{callback_url}", secret_env = "TEST_RECEIVER_SECRET" }}]
{extra}
"""


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[CallbackReceiver, str]]:
    rx = CallbackReceiver()
    monkeypatch.setenv("TEST_RECEIVER_SECRET", rx.secret)
    with serve_app(rx.app) as server:
        yield rx, server.url + "/hook"


@pytest.fixture
def gw(tmp_path: Path, receiver: tuple[CallbackReceiver, str]) -> Iterator[Gateway]:
    with gateway(
        tmp_path,
        config(receiver[1]),
        phone_default_region="US",
        oneinbox_from_number="+12125550100",
        poll_interval_seconds=0.3,
    ) as server:
        sim(server, "PATCH", "/_sim/config", json=FAST_PHONE)
        yield server


def sim(gw: Gateway, method: str, path: str, **kwargs: Any) -> Any:
    """A request to the in-process simulator (its /v1 with local mode's key)."""
    headers = {"Authorization": "Bearer oi_sk_local_simulator"}
    response = httpx.request(
        method, f"{gw.url}/oneinbox-sim{path}", headers=headers, timeout=10, **kwargs
    )
    assert response.status_code < 300, response.text
    return response.json()


def gw_events(gw: Gateway, call_id: str) -> list[tuple[str, str]]:
    """The call's history as (to_state, detail), read from the store."""
    import asyncio

    from gateway.store.calls import CallRepository
    from gateway.store.database import Database

    async def read() -> list[tuple[str, str]]:
        db = Database(gw.database_url)
        try:
            async with db.session() as session:
                events = await CallRepository(session).events(call_id)
                return [(e.to_state, e.detail or "") for e in events]
        finally:
            await db.dispose()

    return asyncio.run(read())


def upstream_dials(gw: Gateway) -> int:
    return int(sim(gw, "GET", "/_sim/stats")["by_endpoint"].get("POST /v1/calls", 0))


def result_for(rx: CallbackReceiver, call_id: str) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        for post in rx.accepted():
            if post.payload["data"]["call_id"] == call_id:
                return post.payload
        return None

    payload: dict[str, Any] = wait_until(found, timeout=20, what=f"the result of {call_id}")
    return payload


def test_a_national_number_is_dialled_as_e164_and_the_result_names_it(
    gw: Gateway, receiver: tuple[CallbackReceiver, str]
) -> None:
    response = gw.post("ring-lead", json={"phone": "(415) 555-0123", "name": "Ada"}, headers=AUTH)
    assert response.status_code == 202, response.text
    body = response.json()
    assert set(body) == {"call_id", "status", "status_url", "to_number"}  # no join link
    assert body["status"] == "started" and body["to_number"] == "+14155550123"
    assert f"/status/{body['call_id']}/" in body["status_url"]
    upstream = sim(gw, "GET", f"/v1/calls/{body['call_id']}")
    assert upstream["type"] == "outbound" and upstream["to_number"] == "+14155550123"
    assert upstream["from_number"] == "+12125550100"  # ONEINBOX_FROM_NUMBER
    assert upstream["variables"] == {"customer_name": "Ada"}
    assert upstream["metadata"]["gateway_origin"] == "hook"

    payload = result_for(receiver[0], body["call_id"])
    post = next(p for p in receiver[0].accepted() if p.payload == payload)
    assert post.verified  # checked by the standardwebhooks package
    assert payload["type"] == "call.completed"
    data = payload["data"]
    assert data["type"] == "outbound" and data["to_number"] == "+14155550123"
    assert data["status"] == "completed" and data["end_reason"] == "customer_ended_call"
    assert data["messages"] and data["origin"]["name"] == "ring-lead"
    metrics = httpx.get(f"{gw.url}/metrics", timeout=10).text
    assert "4155550123" not in metrics  # never a metrics label


def test_a_call_on_the_phone_is_live_on_the_state_machine_until_it_ends(gw: Gateway) -> None:
    sim(gw, "PATCH", "/_sim/config", json={"phone_hangup_after": None})  # stays on the line
    response = gw.post("ring-lead", json={"phone": "+14155550123", "name": "Ada"}, headers=AUTH)
    call_id = response.json()["call_id"]
    wait_until(lambda: gw_events(gw, call_id)[-1][0] == "live", timeout=20, what="answered")
    sim(gw, "POST", f"/_sim/calls/{call_id}/end", json={"outcome": "interested"})
    wait_until(lambda: gw_events(gw, call_id)[-1][0] == "delivered", timeout=20, what="the end")
    events = gw_events(gw, call_id)
    assert [state for state, _ in events] == ["started", "live", "ended", "analyzed", "delivered"]
    assert "dialling •••0123" in events[0][1] and events[1][1] == "answered"


@pytest.mark.parametrize(
    "phone", ["call me maybe", "", "555-0123", "+1 555 555 5555", {"nested": 1}, None]
)
def test_an_unusable_number_gets_422_naming_the_field_and_nothing_is_dialled(
    gw: Gateway, phone: Any
) -> None:
    response = gw.post("ring-lead", json={"phone": phone, "name": "Ada"}, headers=AUTH)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_phone_number"
    assert "to_number" in error["message"] and "body.phone" in error["message"]
    assert upstream_dials(gw) == 0
    assert gw.count("calls") == 0


def test_a_missing_number_gets_422_too(gw: Gateway) -> None:
    response = gw.post("ring-lead", json={"name": "Ada"}, headers=AUTH)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_phone_number"
    assert upstream_dials(gw) == 0


def test_every_unanswered_ending_is_delivered_as_call_failed_with_its_outcome(
    gw: Gateway, receiver: tuple[CallbackReceiver, str]
) -> None:
    started = {}
    for number in ENDINGS:
        response = gw.post("ring-lead", json={"phone": number, "name": "Ada"}, headers=AUTH)
        assert response.status_code == 202, response.text
        started[number] = response.json()["call_id"]
    for number, (reason, outcome) in ENDINGS.items():
        payload = result_for(receiver[0], started[number])
        assert payload["type"] == "call.failed", (number, payload)
        data = payload["data"]
        assert (data["status"], data["end_reason"], data["outcome"]) == ("failed", reason, outcome)
        assert data["type"] == "outbound" and data["to_number"] == number


def test_a_repeated_request_dials_once(gw: Gateway) -> None:
    headers = {**AUTH, "Idempotency-Key": "lead-51-call"}
    first = gw.post("ring-lead", json={"phone": "+1 415 555 0123", "name": "Ada"}, headers=headers)
    again = gw.post("ring-lead", json={"phone": "+1 415 555 0123", "name": "Ada"}, headers=headers)
    assert first.status_code == again.status_code == 202
    assert first.json() == again.json()
    assert upstream_dials(gw) == 1


def test_a_hooks_own_from_number_wins_over_the_setting(
    tmp_path: Path, receiver: tuple[CallbackReceiver, str]
) -> None:
    toml = config(receiver[1], extra='from_number = "(646) 555-0111"')
    with gateway(
        tmp_path, toml, phone_default_region="US", oneinbox_from_number="+12125550100"
    ) as gw:
        response = gw.post("ring-lead", json={"phone": "+14155550123", "name": "Ada"}, headers=AUTH)
        assert response.status_code == 202, response.text
        upstream = sim(gw, "GET", f"/v1/calls/{response.json()['call_id']}")
    assert upstream["from_number"] == "+16465550111"


def test_without_a_default_region_a_national_number_is_refused(
    tmp_path: Path, receiver: tuple[CallbackReceiver, str]
) -> None:
    with gateway(tmp_path, config(receiver[1])) as gw:
        response = gw.post(
            "ring-lead", json={"phone": "(415) 555-0123", "name": "Ada"}, headers=AUTH
        )
        assert response.status_code == 422
        assert "PHONE_DEFAULT_REGION" in response.json()["error"]["message"]
        ok = gw.post("ring-lead", json={"phone": "+1 415 555 0123", "name": "Ada"}, headers=AUTH)
        assert ok.status_code == 202, ok.text
        assert upstream_dials(gw) == 1


def test_the_daily_phone_cap_of_a_hook_stops_the_next_dial(
    tmp_path: Path, receiver: tuple[CallbackReceiver, str]
) -> None:
    with gateway(tmp_path, config(receiver[1]), limit_phone_calls_per_hook_per_day=1) as gw:
        first = gw.post("ring-lead", json={"phone": "+14155550123", "name": "Ada"}, headers=AUTH)
        assert first.status_code == 202, first.text
        second = gw.post("ring-lead", json={"phone": "+14155550124", "name": "Bob"}, headers=AUTH)
        assert second.status_code == 429, second.text
        assert second.json()["error"]["code"] == "limit_reached"
        assert "Retry-After" in second.headers
        assert upstream_dials(gw) == 1
