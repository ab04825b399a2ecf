"""`preset = "hubspot"` with `action = "start_phone_call"` rings the contact's `phone`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.hooks import PUBLIC, Gateway, gateway
from tests.support.signing import hubspot_v3_headers

FIXTURES = Path(__file__).resolve().parents[2] / "integrations" / "hubspot" / "fixtures"
SECRET = "hubspot-app-client-secret-0123"
CONFIG = """
[agents.sales]
create = { first_message = "Hi!" }

[hooks.hubspot-ring]
preset = "hubspot"
action = "start_phone_call"
agent = "sales"
"""


@pytest.fixture
def gw(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Gateway]:
    monkeypatch.setenv("HUBSPOT_CLIENT_SECRET", SECRET)
    with gateway(tmp_path, CONFIG, phone_default_region="US") as server:
        yield server


def post_signed(gw: Gateway, body: bytes) -> object:
    url = f"{PUBLIC}/hooks/hubspot-ring"
    return gw.post(
        "hubspot-ring", content=body, headers=hubspot_v3_headers(SECRET, "POST", url, body)
    )


def test_the_contacts_phone_is_dialled(gw: Gateway) -> None:
    response = post_signed(gw, (FIXTURES / "contact-workflow.json").read_bytes())
    assert response.status_code == 202, response.text  # type: ignore[attr-defined]
    answer = response.json()  # type: ignore[attr-defined]
    assert answer["to_number"] == "+14155550100" and "join_url" not in answer
    call = gw.simulator.calls[answer["call_id"]]
    assert (call.type, call.to_number) == ("outbound", "+14155550100")
    assert call.variables["customer_name"] == "Ada"  # the preset's mapping still applies


def test_a_contact_with_only_a_national_mobile_number_is_dialled_too(gw: Gateway) -> None:
    contact = json.loads((FIXTURES / "contact-workflow.json").read_text())
    contact.pop("phone")
    contact["mobilephone"] = "(212) 555-0199"
    response = post_signed(gw, json.dumps(contact).encode())
    assert response.status_code == 202, response.text  # type: ignore[attr-defined]
    assert response.json()["to_number"] == "+12125550199"  # type: ignore[attr-defined]


def test_a_contact_without_a_phone_gets_422_and_nothing_is_dialled(gw: Gateway) -> None:
    contact = json.loads((FIXTURES / "contact-workflow.json").read_text())
    contact.pop("phone")
    response = post_signed(gw, json.dumps(contact).encode())
    assert response.status_code == 422  # type: ignore[attr-defined]
    assert response.json()["error"]["code"] == "invalid_phone_number"  # type: ignore[attr-defined]
    assert gw.simulator.calls == {}
