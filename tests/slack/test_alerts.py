"""A destination disabled after failing too long is announced once in SLACK_ALERT_CHANNEL
(fake Slack Web API on loopback, real failing receiver, real gateway)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.slack.conftest import make_rig
from tests.support.receiver import CallbackReceiver
from tests.support.servers import serve_app, wait_until

ADMIN = "slack-alert-admin-token-0123"
SECRET_ENV = "SLACK_ALERT_RECEIVER_WHSEC"


def end(base: str, call_id: str) -> int:
    """End a call in the in-process simulator (its key is ADMIN_TOKEN when one is set)."""
    answer = httpx.post(
        f"{base}/oneinbox-sim/_sim/calls/{call_id}/end",
        json={},
        headers={"Authorization": f"Bearer {ADMIN}"},
        timeout=10,
    )
    return answer.status_code


def test_a_disabled_destination_is_posted_once_to_the_alert_channel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rx = CallbackReceiver(failing=True)
    monkeypatch.setenv(SECRET_ENV, rx.secret)
    with serve_app(rx.app) as receiver:
        rigs = make_rig(
            tmp_path,
            admin_token=ADMIN,
            callback_allow_private=True,
            destination_disable_after_seconds=1.0,
            delivery_schedule_scale=0.0005,
            slack_alert_channel="C0ALERTS",
        )
        rig = next(rigs)
        try:
            auth = {"Authorization": f"Bearer {ADMIN}"}
            url = receiver.url + "/hook?token=kept-out-of-slack"
            started = httpx.post(
                rig.gateway.url + "/api/calls",
                json={"agent": "sales", "callback": {"url": url, "secret_env": SECRET_ENV}},
                headers=auth,
                timeout=15,
            )
            assert started.status_code == 201, started.text
            call_id = started.json()["call_id"]
            assert end(rig.gateway.url, call_id) == 200
            (post,) = wait_until(
                lambda: rig.fake.posts("C0ALERTS"), timeout=30, what="the Slack alert"
            )
            listed = httpx.get(rig.gateway.url + "/api/destinations", headers=auth).json()
            (destination,) = listed["destinations"]
            assert destination["status"] == "disabled"
            text = post["text"]
            assert destination["id"] in text and "disabled" in text
            assert receiver.url + "/hook" in text and "kept-out-of-slack" not in text
            assert f"destinations enable {destination['id']}" in text
            assert rx.secret not in text
            # A result queued for it now is held, and the alert is not repeated.
            again = httpx.post(
                rig.gateway.url + "/api/calls",
                json={"agent": "sales", "callback": {"url": url, "secret_env": SECRET_ENV}},
                headers=auth,
                timeout=15,
            ).json()["call_id"]
            assert end(rig.gateway.url, again) == 200
            wait_until(
                lambda: httpx.get(f"{rig.gateway.url}/api/calls/{again}", headers=auth).json()[
                    "deliveries"
                ],
                timeout=20,
            )
            assert len(rig.fake.posts("C0ALERTS")) == 1
        finally:
            rigs.close()
