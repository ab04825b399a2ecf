"""Pipedrive webhooks v2 with basic auth, deduplicated on `meta.id`, against a real gateway."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.hooks import Gateway, gateway
from tests.support.signing import basic

FIXTURES = Path(__file__).resolve().parents[2] / "integrations" / "pipedrive" / "fixtures"
USER, PASSWORD = "pipedrive", "pipedrive-hook-password-0123"
AUTH = basic(USER, PASSWORD)
CONFIG = """
[agents.sales]
create = { first_message = "Hi!" }

[hooks.pipedrive-person]
preset = "pipedrive"
agent = "sales"
"""


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("PIPEDRIVE_HOOK_USER", USER)
    monkeypatch.setenv("PIPEDRIVE_HOOK_PASSWORD", PASSWORD)
    try:
        with gateway(tmp_path_factory.mktemp("pipedrive"), CONFIG) as server:
            yield server
    finally:
        monkeypatch.undo()


def post(gw: Gateway, name: str, headers: dict[str, str] = AUTH) -> httpx.Response:
    body = (FIXTURES / name).read_bytes()
    return gw.post(
        "pipedrive-person", content=body, headers={**headers, "Content-Type": "application/json"}
    )


def test_a_person_event_starts_a_call_with_name_and_phone(gw: Gateway) -> None:
    response = post(gw, "person-updated.json")
    assert response.status_code == 202, response.text
    call = gw.simulator.calls[response.json()["call_id"]]
    assert call.variables == {"customer_name": "Ada", "phone": "+14155550100"}
    assert call.metadata["crm_person_id"] == 3
    assert call.metadata["crm_event_id"] == "0c6a1b9e-4a1f-4f33-9b0e-6f2f3c1d2e11"


def test_a_retried_delivery_gets_the_first_answer_and_starts_nothing(gw: Gateway) -> None:
    first = post(gw, "person-updated.json")
    before = gw.count("calls")
    retry = post(gw, "person-updated-retry.json")
    assert retry.status_code == 202 and retry.json() == first.json()
    assert gw.count("calls") == before


def test_the_same_event_id_with_other_data_is_422(gw: Gateway) -> None:
    post(gw, "person-updated.json")
    before = gw.count("calls")
    changed = json.loads((FIXTURES / "person-updated.json").read_text())
    changed["data"]["first_name"] = "Eve"
    response = gw.post("pipedrive-person", json=changed, headers=AUTH)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert gw.count("calls") == before


def test_the_primary_phone_is_chosen_and_a_missing_one_is_empty(gw: Gateway) -> None:
    added = post(gw, "person-added.json")
    assert added.status_code == 202, added.text
    assert gw.simulator.calls[added.json()["call_id"]].variables["phone"] == "+14155550112"
    none = post(gw, "person-without-phone.json")
    assert none.status_code == 202, none.text
    assert gw.simulator.calls[none.json()["call_id"]].variables["phone"] == ""


@pytest.mark.parametrize(
    "headers", [{}, basic(USER, "wrong"), basic("someone", PASSWORD), {"Authorization": "Basic"}]
)
def test_wrong_credentials_are_401(gw: Gateway, headers: dict[str, str]) -> None:
    before = gw.count("calls")
    response = post(gw, "person-added.json", headers=headers)
    assert response.status_code == 401
    assert gw.count("calls") == before
