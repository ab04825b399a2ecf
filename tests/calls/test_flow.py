"""A call followed to its end: hint or poll, result built once, delivered signed, once."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.calls.harness import HOOK_TOKEN, hook_toml, local_gateway
from tests.support.receiver import CallbackReceiver
from tests.support.servers import serve_app, wait_until


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> CallbackReceiver:
    receiver = CallbackReceiver()
    monkeypatch.setenv("TEST_HOOK_TOKEN", HOOK_TOKEN)
    monkeypatch.setenv("TEST_RECEIVER_SECRET", receiver.secret)
    return receiver


def test_a_call_ended_upstream_is_delivered_once_signed_with_its_summary(
    tmp_path: Path, receiver: CallbackReceiver
) -> None:
    with serve_app(receiver.app) as rx:
        config = hook_toml(agent="create", callbacks=[(rx.url + "/hook", "TEST_RECEIVER_SECRET")])
        # Polls are rare: only the webhook hint can make this quick.
        with local_gateway(tmp_path, config, poll_interval_seconds=30) as gw:
            wait_until(lambda: len(gw.sim_webhooks()) == 1, what="webhook registered")
            started = gw.start_call({"name": "Ada"})
            gw.join_call(started["call_id"])
            gw.end_call(started["call_id"], outcome="interested", summary="Wants a demo.")
            wait_until(lambda: receiver.accepted(), timeout=15, what="the callback")
            wait_until(lambda: httpx.get(gw.sim + "/_sim/stats").json()["total"] > 0, what="stats")
    [post] = receiver.accepted()
    assert post.verified
    body = post.payload
    assert body["type"] == "call.completed"
    assert body["data"]["call_id"] == started["call_id"]
    assert body["data"]["outcome"] == "Interested"
    assert body["data"]["summary"] == "Wants a demo."
    assert body["data"]["origin"]["kind"] == "hook"
    assert body["data"]["messages"]
    assert body["data"]["analysis_missing"] is False
