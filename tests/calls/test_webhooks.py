"""`POST /webhooks/oneinbox`: a token-guarded hint; bad input gets a clear error and changes
nothing; the gateway registers itself with OneInbox once, however often it starts."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.calls.webhooks import webhook_token
from gateway.store.database import Database
from gateway.store.tables import CallRow
from tests.calls.harness import HOOK_TOKEN, LocalGateway, hook_toml, local_gateway
from tests.support.servers import wait_until

FIXTURE = Path(__file__).parents[1] / "fixtures" / "oneinbox" / "call-ended-event.json"


def call_row(gw: LocalGateway, call_id: str) -> CallRow:
    async def read() -> CallRow:
        db = Database(gw.ctx.settings.database_url)
        try:
            async with db.session() as session:
                row = await session.get(CallRow, call_id)
                assert row is not None
                return row
        finally:
            await db.dispose()

    return asyncio.run(read())


@pytest.fixture
def gateway(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("TEST_HOOK_TOKEN", HOOK_TOKEN)
    config = hook_toml(agent="create", callbacks=[])
    with local_gateway(tmp_path, config, poll_interval_seconds=30) as gw:
        yield gw


def event_for(call_id: str) -> dict[str, Any]:
    event = dict(json.loads(FIXTURE.read_text()))
    event["call_id"] = call_id
    return event


def token_of(gw: LocalGateway) -> str:
    return webhook_token(gw.ctx.settings.secret_key())


def test_bad_requests_get_clear_errors_and_change_nothing(gateway: LocalGateway) -> None:
    gw = gateway
    call_id = gw.start_call()["call_id"]
    before = call_row(gw, call_id)
    url = gw.url + "/webhooks/oneinbox"
    good = {"token": token_of(gw)}
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"params": {"token": "wrong"}, "json": event_for(call_id)}, 401, "unauthorized"),
        ({"json": event_for(call_id)}, 401, "unauthorized"),
        (
            {"headers": {"X-Gateway-Webhook-Token": "nope"}, "json": event_for(call_id)},
            401,
            "unauthorized",
        ),
        (
            {
                "params": good,
                "content": b"{not json",
                "headers": {"Content-Type": "application/json"},
            },
            400,
            "malformed_json",
        ),
        (
            {
                "params": good,
                "content": b"x" * (1024 * 1024 + 1),
                "headers": {"Content-Type": "application/json"},
            },
            413,
            "body_too_large",
        ),
        ({"params": good, "content": b"event=call.ended"}, 415, "unsupported_media_type"),
        ({"params": good, "json": {"event": "call.ended"}}, 422, "invalid_event"),
        ({"params": good, "json": {"call_id": call_id}}, 422, "invalid_event"),
        ({"params": good, "json": [event_for(call_id)]}, 422, "invalid_event"),
        ({"params": good, "json": {"event": "call.ended", "call_id": 7}}, 422, "invalid_event"),
    ]
    for kwargs, status, code in cases:
        response = httpx.post(url, timeout=10, **kwargs)
        assert response.status_code == status, (kwargs.keys(), response.text)
        assert response.json()["error"]["code"] == code
        assert token_of(gw) not in response.text
    after = call_row(gw, call_id)
    assert after.next_poll_at == before.next_poll_at
    assert after.state == before.state == "started"


def test_a_hint_moves_the_call_to_the_front_of_the_queue(gateway: LocalGateway) -> None:
    gw = gateway
    call_id = gw.start_call()["call_id"]
    gw.join_call(call_id)  # upstream in_progress; the tracker would look in 5 s at the earliest
    response = httpx.post(
        gw.url + "/webhooks/oneinbox",
        json={"event": "call.started", "call_id": call_id},
        headers={"X-Gateway-Webhook-Token": token_of(gw)},
        timeout=10,
    )
    assert response.status_code == 202
    assert response.json() == {"accepted": True, "tracked": True}
    wait_until(lambda: call_row(gw, call_id).state == "live", timeout=3, what="live")


def test_an_event_for_an_unknown_call_is_accepted_and_ignored(gateway: LocalGateway) -> None:
    response = httpx.post(
        gateway.url + "/webhooks/oneinbox",
        params={"token": token_of(gateway)},
        json=event_for("call_unknown"),
        timeout=10,
    )
    assert response.status_code == 202
    assert response.json() == {"accepted": True, "tracked": False}


def test_the_gateway_registers_one_webhook_however_often_it_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_HOOK_TOKEN", HOOK_TOKEN)
    config = hook_toml(agent="create", callbacks=[])
    with local_gateway(tmp_path, config) as gw:
        hooks = wait_until(gw.sim_webhooks, what="registration")
        ctx = gw.ctx
        # A second start against the same OneInbox finds it and creates nothing.
        from gateway.calls.webhooks import register_webhook, webhook_url

        url = webhook_url(ctx.settings, token_of(gw))

        async def again() -> str | None:
            from gateway.oneinbox.client import OneInboxClient

            async with OneInboxClient(gw.sim, "oi_sk_test") as client:
                return await register_webhook(client, url)

        assert asyncio.run(again()) == hooks[0]["id"]
        assert len(gw.sim_webhooks()) == 1
    [hook] = hooks
    assert hook["url"].startswith(gw.url + "/webhooks/oneinbox?token=")
    assert set(hook["events"]) >= {"call.ended", "call.analyzed", "call.failed"}
