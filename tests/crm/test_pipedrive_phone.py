"""`preset = "pipedrive"` with `action = "start_phone_call"` rings the person's primary phone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.hooks import Gateway, gateway
from tests.support.signing import basic

FIXTURES = Path(__file__).resolve().parents[2] / "integrations" / "pipedrive" / "fixtures"
USER, PASSWORD = "pipedrive", "pipedrive-hook-password-0123"
CONFIG = """
[agents.sales]
create = { first_message = "Hi!" }

[hooks.pipedrive-ring]
preset = "pipedrive"
action = "start_phone_call"
agent = "sales"
"""


@pytest.fixture
def gw(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Gateway]:
    monkeypatch.setenv("PIPEDRIVE_HOOK_USER", USER)
    monkeypatch.setenv("PIPEDRIVE_HOOK_PASSWORD", PASSWORD)
    with gateway(tmp_path, CONFIG) as server:
        yield server


def post(gw: Gateway, name: str) -> httpx.Response:
    headers = {**basic(USER, PASSWORD), "Content-Type": "application/json"}
    return gw.post("pipedrive-ring", content=(FIXTURES / name).read_bytes(), headers=headers)


def test_the_primary_phone_is_dialled(gw: Gateway) -> None:
    response = post(gw, "person-added.json")
    assert response.status_code == 202, response.text
    call = gw.simulator.calls[response.json()["call_id"]]
    assert (call.type, call.to_number) == ("outbound", response.json()["to_number"])
    assert call.to_number.startswith("+1415555")


def test_a_person_without_a_phone_gets_422_and_nothing_is_dialled(gw: Gateway) -> None:
    response = post(gw, "person-without-phone.json")
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_phone_number"
    assert gw.simulator.calls == {}
