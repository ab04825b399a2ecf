"""The ends a call can come to: failed, expired (nobody joined), lost (upstream 404), and
delivered without analysis when it does not come in time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.calls.webhooks import webhook_token
from tests.calls.harness import HOOK_TOKEN, hook_toml, local_gateway, read_store
from tests.support.receiver import CallbackReceiver
from tests.support.servers import serve_app, wait_until


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Any:
    receiver = CallbackReceiver()
    monkeypatch.setenv("TEST_HOOK_TOKEN", HOOK_TOKEN)
    monkeypatch.setenv("TEST_RECEIVER_SECRET", receiver.secret)
    with serve_app(receiver.app) as rx:
        receiver.url = rx.url + "/hook"  # type: ignore[attr-defined]
        yield receiver


def config_for(receiver: Any) -> str:
    return hook_toml(agent="create", callbacks=[(receiver.url, "TEST_RECEIVER_SECRET")])


def test_a_failed_call_is_delivered_as_call_failed(tmp_path: Path, receiver: Any) -> None:
    with local_gateway(tmp_path, config_for(receiver), poll_interval_seconds=0.3) as gw:
        call_id = gw.start_call()["call_id"]
        gw.join_call(call_id)
        gw.end_call(call_id, failed=True)
        [post] = wait_until(receiver.accepted, timeout=15, what="the callback")
        wait_until(
            lambda: read_store(gw.ctx.settings.database_url, call_id)["call"].state == "delivered",
            what="delivered",
        )
        events = read_store(gw.ctx.settings.database_url, call_id)["events"]
    assert post.payload["type"] == "call.failed"
    assert post.payload["data"]["status"] == "failed"
    assert events[0] == "started" and events[-2:] == ["failed", "delivered"]


def test_a_call_nobody_joins_is_stopped_and_its_result_says_so(
    tmp_path: Path, receiver: Any
) -> None:
    with local_gateway(
        tmp_path, config_for(receiver), poll_interval_seconds=0.3, join_timeout_seconds=1
    ) as gw:
        gw.sim_config(analysis_delay=0.2)
        call_id = gw.start_call()["call_id"]
        [post] = wait_until(receiver.accepted, timeout=20, what="the callback")
        upstream = httpx.get(
            f"{gw.sim}/v1/calls/{call_id}", headers={"Authorization": "Bearer oi_sk_test"}
        ).json()
        store = wait_until(
            lambda: (
                (s := read_store(gw.ctx.settings.database_url, call_id))["call"].state
                == "delivered"
                and s
            ),
            what="delivered",
        )
    assert upstream["status"] == "completed" and upstream["end_reason"] == "api_stop"
    assert post.payload["data"]["end_reason"] == "join_timeout"
    assert store["events"][:2] == ["started", "expired"]
    assert store["events"][-1] == "delivered"


def test_without_analysis_in_time_the_result_goes_out_saying_so(
    tmp_path: Path, receiver: Any
) -> None:
    with local_gateway(
        tmp_path, config_for(receiver), poll_interval_seconds=0.3, analysis_wait_seconds=1
    ) as gw:
        gw.sim_config(analysis_delay=60)
        call_id = gw.start_call()["call_id"]
        gw.join_call(call_id)
        gw.end_call(call_id)
        [post] = wait_until(receiver.accepted, timeout=15, what="the callback")
        events = read_store(gw.ctx.settings.database_url, call_id)["events"]
    data = post.payload["data"]
    assert data["analysis_missing"] is True
    assert data["outcome"] is None and data["summary"] is None
    assert events[-2:] == ["ended", "analyzed"] or events[-3:-1] == ["ended", "analyzed"]


def test_a_call_oneinbox_forgot_is_lost_and_tracking_stops(tmp_path: Path, receiver: Any) -> None:
    with local_gateway(tmp_path, config_for(receiver), poll_interval_seconds=0.3) as gw:
        call_id = gw.start_call()["call_id"]
        assert httpx.post(gw.sim + "/_sim/reset").status_code == 200
        hint = httpx.post(
            gw.url + "/webhooks/oneinbox",
            params={"token": webhook_token(gw.ctx.settings.secret_key())},
            json={"event": "call.ended", "call_id": call_id},
        )
        assert hint.status_code == 202
        store = wait_until(
            lambda: (
                (s := read_store(gw.ctx.settings.database_url, call_id))["call"].state == "lost"
                and s
            ),
            timeout=15,
            what="lost",
        )
    assert store["call"].next_poll_at is None
    assert store["deliveries"] == []
    assert receiver.all() == []
