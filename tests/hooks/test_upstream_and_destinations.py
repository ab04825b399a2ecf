"""What a sender hears when OneInbox says no, and where each call's result is to go."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from gateway.store.database import Database
from tests.hooks.conftest import TOKENS
from tests.support.hooks import Gateway, gateway

CONFIG = """
[agents.sales]
create = { first_message = "Hi!" }

[hooks.new-lead]
agent = "sales"
auth = { scheme = "bearer", token_env = "NEW_LEAD_TOKEN" }
metadata = { crm_contact_id = "body.id" }
notify = [
  { callback_url = "https://localhost:8443/voice-results", secret_env = "HOOK_WHSEC" },
  { callback_url_from = "body.callback_url", secret_env = "HOOK_WHSEC" },
  { slack_channel = "C0123456" },
]
"""
AUTH = {"Authorization": "Bearer lead-token-0123456789"}


@pytest.fixture
def gw(tmp_path: Path) -> Iterator[Gateway]:
    with gateway(tmp_path, CONFIG) as server:
        yield server


def set_faults(gw: Gateway, **knobs: Any) -> None:
    response = httpx.patch(f"{gw.url}/oneinbox-sim/_sim/config", json=knobs, timeout=10)
    assert response.status_code == 200, response.text


def stored_call(gw: Gateway, call_id: str) -> dict[str, Any]:
    import asyncio

    async def run() -> dict[str, Any]:
        db = Database(gw.database_url)
        try:
            async with db.session() as session:
                result = await session.execute(
                    sa.text(
                        "SELECT origin_kind, origin_name, origin_context, destinations "
                        "FROM calls WHERE id = :id"
                    ),
                    {"id": call_id},
                )
                row = result.mappings().one()
                return {
                    key: json.loads(value)
                    if isinstance(value, str) and key != "origin_kind" and key != "origin_name"
                    else value
                    for key, value in row.items()
                }
        finally:
            await db.dispose()

    return asyncio.run(run())


def lead(callback: str = "http://127.0.0.1:9/results") -> dict[str, str]:
    return {"id": "51", "callback_url": callback}


def test_the_origin_and_destinations_are_stored_with_the_call(gw: Gateway) -> None:
    response = gw.post("new-lead", json=lead(), headers=AUTH)
    assert response.status_code == 202, response.text
    call = stored_call(gw, response.json()["call_id"])
    assert call["origin_kind"] == "hook" and call["origin_name"] == "new-lead"
    assert call["origin_context"] == {"crm_contact_id": "51"}
    assert call["destinations"] == [
        {
            "kind": "callback",
            "key": "https://localhost:8443/voice-results",
            "config": {"url": "https://localhost:8443/voice-results", "secret_env": "HOOK_WHSEC"},
        },
        {
            "kind": "callback",
            "key": "http://127.0.0.1:9/results",
            "config": {"url": "http://127.0.0.1:9/results", "secret_env": "HOOK_WHSEC"},
        },
        {"kind": "slack", "key": "slack:C0123456", "config": {"channel": "C0123456"}},
    ]
    assert TOKENS["HOOK_WHSEC"] not in json.dumps(call)


def test_without_notify_local_mode_logs_the_result(tmp_path: Path) -> None:
    config = """
[agents.sales]
create = {}
[hooks.plain]
agent = "sales"
auth = { scheme = "bearer", token_env = "NEW_LEAD_TOKEN" }
"""
    with gateway(tmp_path, config) as server:
        response = server.post("plain", json={}, headers=AUTH)
        assert response.status_code == 202
        call = stored_call(server, response.json()["call_id"])
        assert call["destinations"] == [{"kind": "log", "key": "log", "config": {}}]


@pytest.mark.parametrize(
    "callback",
    [
        "http://127.0.0.1:9/results",
        "https://10.0.0.1/x",
        "https://localhost/x",
        "https://169.254.169.254/latest",
        "https://user:pw@localhost/x",
        "ftp://x",
    ],
)
def test_an_unsafe_callback_url_is_422_before_anything_starts(
    tmp_path: Path, callback: str
) -> None:
    config = """
[agents.sales]
create = {}
[hooks.new-lead]
agent = "sales"
auth = { scheme = "bearer", token_env = "NEW_LEAD_TOKEN" }
notify = [{ callback_url_from = "body.callback_url" }]
"""
    with gateway(tmp_path, config, callback_allow_private=False) as server:
        response = server.post("new-lead", json=lead(callback), headers=AUTH)
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == "unsafe_callback_url"
        assert "pw" not in response.text
        assert server.count("calls") == 0
        assert len(server.simulator.calls) == 0


def test_upstream_refusing_the_key_is_502_for_the_operator(gw: Gateway) -> None:
    set_faults(gw, api_keys=["oi_sk_someone_else"])
    response = gw.post("new-lead", json=lead(), headers=AUTH)
    assert response.status_code == 502
    error = response.json()["error"]
    assert error["code"] == "upstream_auth" and "ONEINBOX_API_KEY" in error["message"]
    assert "oi_sk_" not in response.text
    assert gw.count("calls") == 0


def test_upstream_429_is_503_with_retry_after(gw: Gateway) -> None:
    set_faults(gw, rate_429=1.0, retry_after_seconds=0.2)
    response = gw.post("new-lead", json=lead(), headers=AUTH)
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "upstream_rate_limited"
    assert int(response.headers["Retry-After"]) >= 1
    assert gw.count("calls") == 0


def test_upstream_down_is_502(gw: Gateway) -> None:
    assert gw.post("new-lead", json=lead(), headers=AUTH).status_code == 202  # agent exists
    set_faults(gw, error_rate_5xx=1.0)
    response = gw.post("new-lead", json=lead(), headers=AUTH)
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_unavailable"
    assert gw.count("calls") == 1
    assert gw.count("deliveries") == 0
