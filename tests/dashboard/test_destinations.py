"""The dashboard's Destinations page against a real receiver: the banner while one is
disabled, Send a test event (verified by the receiver with `standardwebhooks`), Enable."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gateway.delivery.signing import key_fingerprint
from tests.admin.rig import admin_rig
from tests.dashboard.test_dashboard_http import sign_in
from tests.support.receiver import CallbackReceiver
from tests.support.servers import serve_app, wait_until

SECRET_ENV = "DASHBOARD_DEST_WHSEC"


def test_banner_test_event_and_enable_from_the_dashboard(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rx = CallbackReceiver(failing=True)
    monkeypatch.setenv(SECRET_ENV, rx.secret)
    with (
        serve_app(rx.app) as server,
        admin_rig(
            tmp_path,
            callback_allow_private=True,
            destination_disable_after_seconds=1.0,
            delivery_schedule_scale=0.0005,
        ) as rig,
    ):
        url = server.url + "/hook"
        call_id = rig.start_call(callback={"url": url, "secret_env": SECRET_ENV})["call_id"]
        assert rig.sim("POST", f"/_sim/calls/{call_id}/end", json={}).status_code == 200
        client, csrf = sign_in(rig)
        wait_until(
            lambda: 'id="disabled-destinations"' in client.get("/").text,
            timeout=30,
            what="the banner",
        )
        page = client.get("/dashboard/destinations").text
        (destination_id,) = re.findall(r'<tr id="(dst_[0-9a-f]+)"', page)
        assert (
            "state-disabled" in page and f"/dashboard/destinations/{destination_id}/enable" in page
        )

        # The receiver still fails: the test event says so.
        failed = client.post(f"/dashboard/destinations/{destination_id}/test", data={"csrf": csrf})
        assert failed.status_code == 200
        assert "Not accepted by" in failed.text and "503" in failed.text

        rx.failing = False
        sent = client.post(
            "/dashboard/destinations/test",
            data={"csrf": csrf, "url": url, "secret_env": SECRET_ENV},
        )
        assert "Accepted by" in sent.text and key_fingerprint(rx.secret) in sent.text
        assert rx.secret not in sent.text
        tests = [r for r in rx.accepted() if r.payload["type"] == "webhook.test"]
        assert len(tests) == 1 and tests[0].verified  # checked by standardwebhooks

        enabled = client.post(
            f"/dashboard/destinations/{destination_id}/enable", data={"csrf": csrf}
        )
        assert enabled.status_code == 303
        wait_until(lambda: call_id in rx.accepted_call_ids(), timeout=20, what="the held result")
        assert 'id="disabled-destinations"' not in client.get("/").text
        call_page = wait_until(
            lambda: (t := client.get(f"/dashboard/calls/{call_id}").text) and "delivered" in t and t
        )
        assert key_fingerprint(rx.secret) in call_page  # which secret signed each try
        refused = client.post("/dashboard/destinations/test", data={"csrf": csrf, "url": "x"})
        assert refused.status_code == 422
