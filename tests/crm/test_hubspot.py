"""HubSpot workflow webhooks, signed with signature v3, posted to a real gateway."""

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

[hooks.hubspot-lead]
preset = "hubspot"
agent = "sales"
notify = [{ callback_url_from = "body.callback_url || 'http://127.0.0.1:9/default'" }]
"""


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("HUBSPOT_CLIENT_SECRET", SECRET)
    try:
        with gateway(tmp_path_factory.mktemp("hubspot"), CONFIG) as server:
            yield server
    finally:
        monkeypatch.undo()


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def post_signed(gw: Gateway, body: bytes, *, secret: str = SECRET, age: float = 0) -> object:
    url = f"{PUBLIC}/hooks/hubspot-lead"
    return gw.post(
        "hubspot-lead", content=body, headers=hubspot_v3_headers(secret, "POST", url, body, age=age)
    )


def test_a_signed_workflow_webhook_starts_a_call_for_the_contact(gw: Gateway) -> None:
    response = post_signed(gw, fixture("contact-workflow.json"))
    assert response.status_code == 202, response.text  # type: ignore[attr-defined]
    call = gw.simulator.calls[response.json()["call_id"]]  # type: ignore[attr-defined]
    assert call.variables == {"customer_name": "Ada", "company": "Analytical Engines Ltd"}
    assert call.metadata["crm"] == "hubspot"
    assert call.metadata["crm_contact_id"] == "51"
    assert call.metadata["crm_owner_id"] == "12345"


def test_a_contact_without_a_first_name_is_greeted_generically(gw: Gateway) -> None:
    response = post_signed(gw, fixture("contact-without-firstname.json"))
    assert response.status_code == 202, response.text  # type: ignore[attr-defined]
    call = gw.simulator.calls[response.json()["call_id"]]  # type: ignore[attr-defined]
    assert call.variables["customer_name"] == "there"


def test_the_callback_url_from_the_body_is_where_the_result_goes(gw: Gateway) -> None:
    body = fixture("contact-with-callback.json")
    response = post_signed(gw, body)
    assert response.status_code == 202, response.text  # type: ignore[attr-defined]
    assert gw.simulator.calls[response.json()["call_id"]].variables["company"] == ""  # type: ignore[attr-defined]


@pytest.mark.parametrize("case", ["wrong-secret", "stale", "tampered", "proxy-host"])
def test_a_bad_signature_is_401_and_starts_nothing(gw: Gateway, case: str) -> None:
    before = gw.count("calls")
    body = fixture("contact-workflow.json")
    if case == "proxy-host":
        url = f"{gw.url}/hooks/hubspot-lead"  # what the gateway itself sees behind a proxy
        headers = hubspot_v3_headers(SECRET, "POST", url, body)
        response = gw.post("hubspot-lead", content=body, headers=headers)
    elif case == "tampered":
        url = f"{PUBLIC}/hooks/hubspot-lead"
        headers = hubspot_v3_headers(SECRET, "POST", url, body)
        changed = json.dumps({**json.loads(body), "firstname": "Eve"}).encode()
        response = gw.post("hubspot-lead", content=changed, headers=headers)
    else:
        secret = "not-the-secret" if case == "wrong-secret" else SECRET
        response = post_signed(gw, body, secret=secret, age=400 if case == "stale" else 0)  # type: ignore[assignment]
    assert response.status_code == 401
    assert gw.count("calls") == before
