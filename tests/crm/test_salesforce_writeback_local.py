"""`salesforce_record` from a local-mode gateway (simulator inside) to the org stand-in on
loopback: a recording that is ready after the result went out joins the same Task in place;
a phone call's Task names the numbers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gateway.delivery.crm import marker
from tests.calls.harness import HOOK_TOKEN
from tests.support.crm_rig import CrmGateway, Settled, crm_gateway, read_delivery
from tests.support.fake_salesforce import FakeSalesforce, errors
from tests.support.servers import serve_app, wait_until

CONFIG = """
[agents.tester]
create = { first_message = "Hello from the tests" }

[hooks.sf]
preset = "salesforce.flow"
agent = "tester"

[hooks.sf-ring]
preset = "salesforce.flow"
action = "start_phone_call"
from_number = "+14155550999"
agent = "tester"
"""


@pytest.fixture(scope="module")
def org() -> Iterator[FakeSalesforce]:
    fake = FakeSalesforce()
    with serve_app(fake.app) as server:
        fake.url = server.url  # type: ignore[attr-defined]
        yield fake


@pytest.fixture(scope="module")
def gw(org: FakeSalesforce, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CrmGateway]:
    env = {
        "SALESFORCE_LOGIN_URL": org.url,  # type: ignore[attr-defined]
        "SALESFORCE_CLIENT_ID": org.client_id,
        "SALESFORCE_CLIENT_SECRET": org.client_secret,
        "SALESFORCE_FLOW_TOKEN": HOOK_TOKEN,
    }
    with crm_gateway(tmp_path_factory.mktemp("salesforce-wb"), CONFIG, env) as gateway:
        yield gateway


@pytest.fixture(autouse=True)
def fresh(org: FakeSalesforce) -> Iterator[None]:
    yield
    org.faults.clear()
    org.tasks.clear()
    org.updates.clear()


def test_a_recording_ready_after_the_result_is_added_to_the_same_task(
    gw: CrmGateway, org: FakeSalesforce
) -> None:
    contact = org.add_record("003")
    gw.gateway.sim_config(recording_delay=4, analysis_delay=0.3)
    try:
        response = gw.post("sf", {"recordId": contact, "firstName": "Ada"})
        assert response.status_code == 202, response.text
        call_id = str(response.json()["call_id"])
        gw.gateway.join_call(call_id)
        gw.gateway.end_call(call_id, outcome="Interested", summary="Wants a demo.")
        assert gw.settled(call_id, "salesforce_record").state == "delivered"
        (task,) = org.tasks_for(marker(call_id))
        assert "/recordings/" not in task["Description"]  # not recorded yet
        assert org.updates == []

        def recorded() -> str | None:
            (current,) = org.tasks_for(marker(call_id))
            return current["Description"] if "/recordings/" in current["Description"] else None

        described = wait_until(recorded, timeout=30, what="the recording link on the Task")
        assert gw.gateway.url + "/recordings/" in described  # the gateway's link, not upstream
        assert "Wants a demo." in described and "Transcript:" in described
        assert len(org.all_tasks()) == 1  # changed in place, never a second Task
        ((updated, fields),) = org.updates
        assert updated == task["Id"] and set(fields) == {"Description"}
        assert gw.settled(call_id, "salesforce_record").state == "delivered"
    finally:
        gw.gateway.sim_config(recording_delay=0.5, analysis_delay=2.0)


def test_a_task_deleted_while_its_recording_link_is_added_dead_letters_clearly(
    gw: CrmGateway, org: FakeSalesforce
) -> None:
    contact = org.add_record("003")
    gw.gateway.sim_config(recording_delay=4, analysis_delay=0.3)
    try:
        response = gw.post("sf", {"recordId": contact, "firstName": "Ada"})
        call_id = str(response.json()["call_id"])
        gw.gateway.join_call(call_id)
        gw.gateway.end_call(call_id)
        assert gw.settled(call_id, "salesforce_record").state == "delivered"
        (task,) = org.tasks_for(marker(call_id))
        # Deleted between the SOQL that found it and the PATCH: the org answers 404.
        org.fail("update", 404, errors("ENTITY_IS_DELETED", "entity is deleted"))

        def dead() -> Settled | None:
            found = read_delivery(gw.database_url, call_id, "salesforce_record")
            return found if found is not None and found.state == "dead" else None

        done = wait_until(dead, timeout=30, what="the update to dead-letter")
        assert done.last_error is not None and f"Task {task['Id']}" in done.last_error
        assert "ENTITY_IS_DELETED" in done.last_error
        assert done.attempts == 2  # not retried: an admin has to look
        assert len(org.all_tasks()) == 1
    finally:
        gw.gateway.sim_config(recording_delay=0.5, analysis_delay=2.0)


def test_a_phone_calls_task_names_the_number_dialled(gw: CrmGateway, org: FakeSalesforce) -> None:
    lead = org.add_record("00Q")
    body = {"recordId": lead, "firstName": "Ada", "phone": "+14155550100"}
    call_id = gw.call_and_finish("sf-ring", body, outcome="Interested")
    assert gw.settled(call_id, "salesforce_record").state == "delivered"
    (task,) = org.tasks_for(marker(call_id))
    assert task["WhoId"] == lead and task["CallType"] == "Outbound"
    assert "Phone call to: +14155550100 (from +14155550999)" in task["Description"]


def test_a_web_calls_task_names_no_number(gw: CrmGateway, org: FakeSalesforce) -> None:
    call_id = gw.call_and_finish("sf", {"recordId": org.add_record("003"), "firstName": "Ada"})
    assert gw.settled(call_id, "salesforce_record").state == "delivered"
    (task,) = org.tasks_for(marker(call_id))
    assert "Phone call to" not in task["Description"]
