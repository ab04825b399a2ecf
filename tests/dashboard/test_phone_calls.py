"""A phone call from the dashboard's Try a call, seen on the dashboard, the admin API, the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.admin.rig import AdminRig
from tests.dashboard.test_dashboard_http import sign_in
from tests.support.servers import wait_until

FAST_PHONE = {"phone_dial_seconds": 0.05, "phone_answer_after": 0.1, "phone_hangup_after": 0.3}


def dials(rig: AdminRig) -> int:
    stats = rig.sim("GET", "/_sim/stats").json()
    return int(stats["by_endpoint"].get("POST /v1/calls", 0))


def test_try_a_call_places_a_phone_call_shown_masked_everywhere(
    rig: AdminRig, tmp_path: Path
) -> None:
    rig.sim("PATCH", "/_sim/config", json=FAST_PHONE)
    client, csrf = sign_in(rig)
    answer = client.post(
        "/dashboard/try", data={"csrf": csrf, "agent": "sales", "phone": "+1 415 555 0123"}
    )
    assert answer.status_code == 303, answer.text
    call_id = answer.headers["location"].rsplit("/", 1)[1]
    upstream = rig.sim("GET", f"/v1/calls/{call_id}").json()
    assert upstream["type"] == "outbound" and upstream["to_number"] == "+14155550123"

    page = client.get(f"/dashboard/calls/{call_id}").text
    assert "phone call to <code>•••0123</code>" in page
    overview = client.get("/").text
    assert "phone •••0123" in overview
    assert "4155550123" not in page and "4155550123" not in overview

    listed = rig.api("GET", "/api/calls").json()["calls"]
    assert [(c["id"], c["type"], c["to_number"]) for c in listed] == [
        (call_id, "outbound", "•••0123")
    ]
    detail = wait_until(
        lambda: (d := rig.api("GET", f"/api/calls/{call_id}").json())["result"] and d,
        timeout=20,
        what="the result",
    )
    assert detail["type"] == "outbound" and detail["to_number"] == "•••0123"
    assert detail["result"]["type"] == "outbound" and detail["result"]["to_number"] == "•••0123"
    assert "4155550123" not in json.dumps(detail)

    schema = rig.api("GET", "/openapi.json").json()["components"]["schemas"]
    assert schema["CallSummary"]["properties"]["type"]["enum"] == ["web", "outbound"]
    assert "to_number" in schema["CallSummary"]["properties"]

    env = {**os.environ, "DATABASE_URL": rig.database_url, "DATA_DIR": str(tmp_path / "data")}
    listed_cli = subprocess.run(
        [sys.executable, "-m", "gateway", "calls", "list"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    ).stdout
    assert "•••0123" in listed_cli and "4155550123" not in listed_cli
    shown = subprocess.run(
        [sys.executable, "-m", "gateway", "calls", "show", call_id],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    ).stdout
    assert "outbound" in shown and "•••0123" in shown and "4155550123" not in shown


def test_try_a_call_refuses_a_number_that_cannot_be_dialled(rig: AdminRig) -> None:
    client, csrf = sign_in(rig)
    answer = client.post("/dashboard/try", data={"csrf": csrf, "agent": "sales", "phone": "banana"})
    assert answer.status_code == 422
    assert "invalid_phone_number" in answer.text or "not a phone number" in answer.text
    assert dials(rig) == 0 and rig.calls() == []
