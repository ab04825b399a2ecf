"""Salesforce Outbound Messages (SOAP) and Flow callouts (JSON + bearer) against a real gateway."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from defusedxml.ElementTree import fromstring

from tests.support.hooks import Gateway, gateway
from tests.support.servers import wait_until

FIXTURES = Path(__file__).resolve().parents[2] / "integrations" / "salesforce" / "fixtures"
FLOW_TOKEN = "salesforce-flow-token-0123456789"
CONFIG = """
[agents.sales]
create = { first_message = "Hi!" }

[hooks.sf-outbound]
preset = "salesforce"
agent = "sales"
auth = { scheme = "none" }
options = { organization_id = "00D000000000001AAA" }

[hooks.sf-other-org]
preset = "salesforce"
agent = "sales"
auth = { scheme = "none" }
options = { organization_id = "00D000000000009ZZZ" }

[hooks.sf-flow]
preset = "salesforce.flow"
agent = "sales"
notify = [{ callback_url_from = "body.callbackUrl" }]
"""
XML = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'}


@pytest.fixture
def gw(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Gateway]:
    monkeypatch.setenv("SALESFORCE_FLOW_TOKEN", FLOW_TOKEN)
    with gateway(tmp_path, CONFIG) as server:
        yield server


def post_xml(gw: Gateway, name: str, hook: str = "sf-outbound") -> httpx.Response:
    return gw.post(hook, content=(FIXTURES / name).read_bytes(), headers=XML)


def acknowledged(response: httpx.Response) -> None:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/xml")
    ack = fromstring(response.content).find(".//{http://soap.sforce.com/2005/09/outbound}Ack")
    assert ack is not None and ack.text == "true"


def test_an_outbound_message_is_acknowledged_and_starts_a_call(gw: Gateway) -> None:
    acknowledged(post_xml(gw, "outbound-message.xml"))
    (call,) = gw.simulator.calls.values()
    assert call.variables == {"customer_name": "Ada"}
    assert call.metadata["crm_record_id"] == "003000000000001AAA"
    assert call.metadata["crm_record_type"] == "Contact"
    assert call.metadata["salesforce_notification_id"] == "04l000000000001AAA"


def test_a_resent_message_is_acknowledged_and_starts_nothing(gw: Gateway) -> None:
    acknowledged(post_xml(gw, "outbound-message-batch.xml"))
    assert gw.count("calls") == 3
    acknowledged(post_xml(gw, "outbound-message-batch.xml"))
    acknowledged(post_xml(gw, "outbound-message-batch.xml"))
    assert gw.count("calls") == 3
    names = sorted(c.variables["customer_name"] for c in gw.simulator.calls.values())
    assert names == ["Ada", "Grace", "Katherine"]


def test_a_hundred_notifications_become_a_hundred_calls(gw: Gateway) -> None:
    acknowledged(post_xml(gw, "outbound-message-100.xml"))
    assert gw.count("calls") == 100


def test_more_than_a_hundred_notifications_are_refused_whole(gw: Gateway) -> None:
    response = post_xml(gw, "outbound-message-101.xml")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "too_many_items"
    assert gw.count("calls") == 0


def test_entity_expansion_is_refused(gw: Gateway) -> None:
    response = post_xml(gw, "entity-expansion.xml")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_xml"
    assert gw.count("calls") == 0


@pytest.mark.parametrize("body", [b"<notifications", b"<a/>", b""])
def test_malformed_xml_is_400(gw: Gateway, body: bytes) -> None:
    response = gw.post("sf-outbound", content=body, headers=XML)
    assert response.status_code == 400
    assert gw.count("calls") == 0


def test_json_sent_to_an_outbound_message_hook_is_415(gw: Gateway) -> None:
    response = gw.post("sf-outbound", json={"Id": "x"})
    assert response.status_code == 415
    assert gw.count("calls") == 0


def test_a_message_from_another_org_is_401(gw: Gateway) -> None:
    response = post_xml(gw, "outbound-message.xml", hook="sf-other-org")
    assert response.status_code == 401
    assert response.json() == {
        "error": {"code": "unauthorized", "message": "authentication failed"}
    }
    assert gw.count("calls") == 0


def test_an_upstream_failure_is_not_acknowledged_and_a_later_resend_completes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SALESFORCE_FLOW_TOKEN", FLOW_TOKEN)
    # A 5xx may hide a call OneInbox did start: its notifications stay unresolved (resends are
    # not acknowledged, so Salesforce keeps them queued) until the reconciler has looked.
    with gateway(tmp_path, CONFIG, intent_grace_seconds=3) as gw:
        acknowledged(post_xml(gw, "outbound-message.xml"))  # the agent now exists
        httpx.patch(f"{gw.url}/oneinbox-sim/_sim/config", json={"error_rate_5xx": 1.0})
        failed = post_xml(gw, "outbound-message-batch.xml")
        assert failed.status_code == 502
        httpx.patch(f"{gw.url}/oneinbox-sim/_sim/config", json={"error_rate_5xx": 0.0})
        too_soon = post_xml(gw, "outbound-message-batch.xml")
        assert too_soon.status_code == 409 and "Retry-After" in too_soon.headers
        assert gw.count("calls") == 1
        resent = wait_until(
            lambda: (r := post_xml(gw, "outbound-message-batch.xml")).status_code == 200 and r,
            timeout=30,
            interval=0.5,
            what="the resend, once the reconciler released the unresolved notifications",
        )
        acknowledged(resent)
        assert gw.count("calls") == 4


def test_a_flow_callout_with_a_bearer_token_starts_a_call(gw: Gateway) -> None:
    body = (FIXTURES / "flow-callout.json").read_bytes()
    headers = {"Authorization": f"Bearer {FLOW_TOKEN}", "Content-Type": "application/json"}
    response = gw.post("sf-flow", content=body, headers=headers)
    assert response.status_code == 202, response.text
    call = gw.simulator.calls[response.json()["call_id"]]
    assert call.variables == {"customer_name": "Ada"}
    assert call.metadata["crm_record_id"] == "003000000000001AAA"
    wrong = gw.post("sf-flow", content=body, headers={**headers, "Authorization": "Bearer x"})
    assert wrong.status_code == 401
