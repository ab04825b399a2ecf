"""Salesforce presets with `action = "start_phone_call"` ring the record's `Phone`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.hooks import Gateway, gateway

FIXTURES = Path(__file__).resolve().parents[2] / "integrations" / "salesforce" / "fixtures"
FLOW_TOKEN = "salesforce-flow-token-0123456789"
CONFIG = """
[agents.sales]
create = { first_message = "Hi!" }

[hooks.sf-ring]
preset = "salesforce"
action = "start_phone_call"
agent = "sales"
auth = { scheme = "none" }
options = { organization_id = "00D000000000001AAA" }

[hooks.sf-flow-ring]
preset = "salesforce.flow"
action = "start_phone_call"
agent = "sales"
"""


@pytest.fixture
def gw(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Gateway]:
    monkeypatch.setenv("SALESFORCE_FLOW_TOKEN", FLOW_TOKEN)
    with gateway(tmp_path, CONFIG) as server:
        yield server


def test_an_outbound_message_dials_the_records_phone(gw: Gateway) -> None:
    body = (FIXTURES / "outbound-message.xml").read_bytes()
    headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'}
    response = gw.post("sf-ring", content=body, headers=headers)
    assert response.status_code == 200, response.text
    (call,) = gw.simulator.calls.values()
    assert (call.type, call.to_number) == ("outbound", "+14155550100")


def test_a_flow_callout_dials_its_phone(gw: Gateway) -> None:
    body = (FIXTURES / "flow-callout.json").read_bytes()
    headers = {"Authorization": f"Bearer {FLOW_TOKEN}", "Content-Type": "application/json"}
    response = gw.post("sf-flow-ring", content=body, headers=headers)
    assert response.status_code == 202, response.text
    assert response.json()["to_number"] == "+14155550100"
    call = gw.simulator.calls[response.json()["call_id"]]
    assert call.to_number == "+14155550100"
