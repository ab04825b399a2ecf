"""`hubspot_contact`: each call's result lands once on the contact that asked, as a call
engagement, against a HubSpot stand-in on loopback; failures are ones an admin understands."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.crm_rig import CrmGateway, crm_gateway
from tests.support.fake_hubspot import READ, FakeHubSpot
from tests.support.servers import serve_app, wait_until

FIXTURES = Path(__file__).resolve().parents[2] / "integrations" / "hubspot" / "fixtures"
CONFIG = """
[agents.tester]
create = { first_message = "Hello from the tests" }

[hooks.crm]
preset = "hubspot"
auth = { scheme = "bearer", token_env = "TEST_HOOK_TOKEN" }
agent = "tester"

[hooks.crm-props]
preset = "hubspot"
auth = { scheme = "bearer", token_env = "TEST_HOOK_TOKEN" }
agent = "tester"
notify = [{ hubspot_contact = "body.hs_object_id", properties = { last_call_outcome = "outcome" } }]

[hooks.crm-ring]
preset = "hubspot"
action = "start_phone_call"
from_number = "+14155550999"
auth = { scheme = "bearer", token_env = "TEST_HOOK_TOKEN" }
agent = "tester"
"""


@pytest.fixture(scope="module")
def hubspot() -> Iterator[FakeHubSpot]:
    fake = FakeHubSpot(interval_ms=1500)
    with serve_app(fake.app) as server:
        fake.url = server.url  # type: ignore[attr-defined]
        yield fake


def hubspot_env(hubspot: FakeHubSpot) -> dict[str, str]:
    return {"HUBSPOT_API_URL": hubspot.url, "HUBSPOT_ACCESS_TOKEN": hubspot.token}  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def gw(hubspot: FakeHubSpot, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CrmGateway]:
    env = hubspot_env(hubspot)
    with crm_gateway(tmp_path_factory.mktemp("hubspot-wb"), CONFIG, env) as gateway:
        yield gateway


@pytest.fixture(autouse=True)
def fresh(hubspot: FakeHubSpot) -> Iterator[None]:
    token = hubspot.token
    hubspot.add_contact("51", firstname="Ada")
    yield
    hubspot.token = token
    hubspot.granted_scopes = {READ, "crm.objects.contacts.write"}
    hubspot.faults.clear()
    hubspot.contacts.clear()
    hubspot.calls.clear()


def contact(contact_id: str = "51") -> dict[str, Any]:
    body = json.loads((FIXTURES / "contact-workflow.json").read_text())
    return {**body, "hs_object_id": contact_id}


def test_the_preset_logs_one_call_with_summary_and_outcome_on_the_contact(
    hubspot: FakeHubSpot, tmp_path: Path, database_url: str
) -> None:
    # The happy path on SQLite and on PostgreSQL (its own gateway on that store).
    with crm_gateway(tmp_path, CONFIG, hubspot_env(hubspot), database_url=database_url) as gw:
        call_id = gw.call_and_finish("crm", contact())
        done = gw.settled(call_id, "hubspot_contact")
    assert done.state == "delivered", done.last_error
    assert done.config["record_id"] == "51"
    (call,) = hubspot.calls_on("51")
    props = call.properties
    assert "Interested" in props["hs_call_title"]
    assert "Asked for a demo next Tuesday." in props["hs_call_body"]
    assert f"[oneinbox:{call_id}]" in props["hs_call_body"]
    assert props["hs_call_external_id"] == f"[oneinbox:{call_id}]"
    assert props["hs_call_status"] == "COMPLETED"
    assert int(props["hs_call_duration"]) >= 0
    assert props["hs_timestamp"].endswith("Z")
    creates = hubspot.requests("POST", "/crm/v3/objects/calls")
    assert all(r.headers["authorization"] == f"Bearer {hubspot.token}" for r in creates)


def test_contact_properties_are_updated_from_the_result(
    gw: CrmGateway, hubspot: FakeHubSpot
) -> None:
    hubspot.contact_properties.add("last_call_outcome")
    call_id = gw.call_and_finish("crm-props", contact(), outcome="Not Interested")
    assert gw.settled(call_id, "hubspot_contact").state == "delivered"
    assert hubspot.contacts["51"]["last_call_outcome"] == "Not Interested"
    assert len(hubspot.calls_on("51")) == 1


def test_an_unknown_contact_property_is_a_dead_letter_with_hubspots_words(
    gw: CrmGateway, hubspot: FakeHubSpot
) -> None:
    hubspot.contact_properties.discard("last_call_outcome")
    call_id = gw.call_and_finish("crm-props", contact())
    done = gw.settled(call_id, "hubspot_contact")
    assert done.state == "dead" and done.attempts == 1
    assert done.last_error is not None and "last_call_outcome" in done.last_error


def test_a_rate_limit_is_honoured_then_the_call_is_logged_once(
    gw: CrmGateway, hubspot: FakeHubSpot
) -> None:
    hubspot.fail(429, times=1)
    call_id = gw.call_and_finish("crm", contact())
    done = gw.settled(call_id, "hubspot_contact")
    assert done.state == "delivered"
    assert [status for status, _ in done.tries] == [429, 201]
    limited = [s for s in hubspot.seen if s.status == 429]
    after = [s for s in hubspot.seen if s.at > limited[0].at]
    assert after[0].at - limited[0].at >= 1.4  # X-HubSpot-RateLimit-Interval-Milliseconds
    assert len(hubspot.calls_on("51")) == 1


def test_a_server_error_after_the_call_was_logged_does_not_log_it_twice(
    gw: CrmGateway, hubspot: FakeHubSpot
) -> None:
    hubspot.contact_properties.add("last_call_outcome")
    # The call is created, then the contact update fails; HubSpot's search does not see the
    # new call yet, so the retry must find it among the contact's associations.
    hubspot.index_lag = 30.0
    hubspot.fail(503, method="PATCH", path="/crm/v3/objects/contacts/")
    try:
        call_id = gw.call_and_finish("crm-props", contact())
        done = gw.settled(call_id, "hubspot_contact")
    finally:
        hubspot.index_lag = 0.0
    assert done.state == "delivered", done.last_error
    assert [status for status, _ in done.tries] == [503, 200]
    assert len(hubspot.calls_on("51")) == 1
    assert hubspot.requests("GET", "/crm/v4/objects/contacts/51/associations/calls")


def test_a_deleted_contact_is_a_dead_letter_without_retries(
    gw: CrmGateway, hubspot: FakeHubSpot
) -> None:
    call_id = gw.call_and_finish("crm", contact("999"))
    done = gw.settled(call_id, "hubspot_contact")
    assert done.state == "dead" and done.attempts == 1
    assert done.last_error is not None and "contact 999 not found" in done.last_error
    assert hubspot.calls_on("999") == []


def test_a_refused_token_names_the_variable_and_the_scopes(
    gw: CrmGateway, hubspot: FakeHubSpot
) -> None:
    hubspot.token = "pat-na1-rotated"
    call_id = gw.call_and_finish("crm", contact())
    done = gw.settled(call_id, "hubspot_contact")
    assert done.state == "dead" and done.attempts == 1
    assert done.last_error is not None
    assert "HUBSPOT_ACCESS_TOKEN" in done.last_error
    assert "crm.objects.contacts.write" in done.last_error
    assert hubspot.calls == {}


def test_a_token_without_the_write_scope_is_a_dead_letter_naming_it(
    gw: CrmGateway, hubspot: FakeHubSpot
) -> None:
    hubspot.granted_scopes = {READ}
    call_id = gw.call_and_finish("crm", contact())
    done = gw.settled(call_id, "hubspot_contact")
    assert done.state == "dead"
    assert done.tries[-1][0] == 403
    assert done.last_error is not None and "crm.objects.contacts.write" in done.last_error


def test_a_phone_call_is_logged_with_its_numbers_and_direction(
    gw: CrmGateway, hubspot: FakeHubSpot
) -> None:
    call_id = gw.call_and_finish("crm-ring", contact())  # the contact's phone: +14155550100
    done = gw.settled(call_id, "hubspot_contact")
    assert done.state == "delivered", done.last_error
    (call,) = hubspot.calls_on("51")
    props = call.properties
    assert props["hs_call_to_number"] == "+14155550100"
    assert props["hs_call_from_number"] == "+14155550999"
    assert props["hs_call_direction"] == "OUTBOUND"
    assert "+14155550100 (from +14155550999)" in props["hs_call_body"]


def test_a_web_call_carries_no_phone_numbers(gw: CrmGateway, hubspot: FakeHubSpot) -> None:
    call_id = gw.call_and_finish("crm", contact())
    assert gw.settled(call_id, "hubspot_contact").state == "delivered"
    (call,) = hubspot.calls_on("51")
    assert "hs_call_to_number" not in call.properties
    assert "hs_call_from_number" not in call.properties
    assert "Phone call to" not in call.properties["hs_call_body"]


def test_a_request_without_a_usable_contact_id_is_refused_and_starts_nothing(
    gw: CrmGateway, hubspot: FakeHubSpot
) -> None:
    started = time.monotonic()
    response = gw.post("crm", {**contact(), "hs_object_id": "not-a-number"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_record_id"
    assert not [s for s in hubspot.seen if s.at > started]


def test_a_recording_ready_after_the_result_is_added_to_the_logged_call(
    gw: CrmGateway, hubspot: FakeHubSpot
) -> None:
    gw.gateway.sim_config(recording_delay=4, analysis_delay=0.3)
    try:
        response = gw.post("crm", contact())
        assert response.status_code == 202, response.text
        call_id = str(response.json()["call_id"])
        gw.gateway.join_call(call_id)
        gw.gateway.end_call(call_id)
        assert gw.settled(call_id, "hubspot_contact").state == "delivered"
        (call,) = hubspot.calls_on("51")
        assert "hs_call_recording_url" not in call.properties  # not recorded yet

        def recorded() -> str | None:
            return hubspot.calls_on("51")[0].properties.get("hs_call_recording_url")

        link = wait_until(recorded, timeout=30, what="the recording link on the logged call")
        assert link.startswith(gw.gateway.url + "/recordings/")  # the gateway's, never upstream
        assert len(hubspot.calls_on("51")) == 1  # updated in place, not logged twice
        assert "/recordings/" in hubspot.calls_on("51")[0].properties["hs_call_body"]
    finally:
        gw.gateway.sim_config(recording_delay=0.5, analysis_delay=2.0)
