"""The admin API as an operator uses it: token, calls, stop, deliveries, replay."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.store.tables import CallRow, DeliveryRow
from tests.admin.rig import ADMIN_TOKEN, AdminRig, admin_rig

ROUTES = [
    ("GET", "/api/calls"),
    ("POST", "/api/calls"),
    ("GET", "/api/calls/call_x"),
    ("POST", "/api/calls/call_x/stop"),
    ("GET", "/api/deliveries"),
    ("POST", "/api/deliveries/dlv_x/replay"),
]


def test_the_api_does_not_exist_without_an_admin_token(tmp_path: Path) -> None:
    with admin_rig(tmp_path, admin_token=None) as rig:
        for method, path in ROUTES:
            response = rig.api(method, path, token="anything", json={"agent": "sales"})
            assert response.status_code == 404, (method, path)
            assert response.json()["error"]["code"] == "not_found"
        assert rig.upstream_web_calls() == 0


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer wrong-token",
        f"Basic {ADMIN_TOKEN}",
        "Bearer",
        ADMIN_TOKEN,
        f"Bearer {ADMIN_TOKEN}x",
    ],
)
def test_a_wrong_or_missing_token_gets_401_and_starts_nothing(
    rig: AdminRig, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    for method, path in ROUTES:
        response = rig.api(method, path, token=None, headers=headers, json={"agent": "sales"})
        assert response.status_code == 401, (method, path)
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert ADMIN_TOKEN not in response.text
    assert rig.upstream_web_calls() == 0
    assert rig.calls() == []


def test_start_a_call_then_read_it_list_it_and_stop_it(rig: AdminRig) -> None:
    started = rig.start_call(variables={"customer": "Ada"}, metadata={"deal": 42})
    assert started["status"] == "started"
    assert "/join/" in started["join_url"]
    assert started["status_url"].endswith(f"/api/calls/{started['call_id']}")

    listed = rig.api("GET", "/api/calls").json()
    assert [c["id"] for c in listed["calls"]] == [started["call_id"]]
    assert listed["calls"][0]["origin_kind"] == "admin"
    assert rig.api("GET", "/api/calls?state=started").json()["calls"]
    assert rig.api("GET", "/api/calls?state=delivered").json()["calls"] == []

    detail = rig.api("GET", f"/api/calls/{started['call_id']}").json()
    assert detail["agent_name"] == "sales"
    assert detail["events"][0]["to_state"] == "started"
    assert detail["deliveries"] == []

    stopped = rig.api("POST", f"/api/calls/{started['call_id']}/stop")
    assert stopped.status_code == 202
    assert stopped.json() == {"call_id": started["call_id"], "status": "stop_requested"}
    upstream = rig.sim("GET", f"/v1/calls/{started['call_id']}").json()
    assert upstream["status"] in ("ended", "completed", "failed", "canceled", "cancelled")


def test_a_callback_destination_is_stored_with_the_call(rig: AdminRig) -> None:
    # https to a public name would need DNS; an address literal keeps the test on loopback
    response = rig.api(
        "POST",
        "/api/calls",
        json={"agent": "sales", "callback": {"url": "https://93.184.215.14/hook"}},
    )
    assert response.status_code == 201, response.text
    (call,) = rig.calls()
    assert call.destinations == [
        {
            "kind": "callback",
            "key": "https://93.184.215.14/hook",
            "config": {"url": "https://93.184.215.14/hook"},
        }
    ]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{not json", 400, "malformed_json"),
        (b"{}", 422, "invalid_body"),
        (b'{"agent": ""}', 422, "invalid_body"),
        (b'{"agent": "sales", "surprise": 1}', 422, "invalid_body"),
        (b'{"agent": "sales", "variables": {"x": {"nested": 1}}}', 422, "invalid_body"),
        (b'{"agent": "nobody-knows"}', 404, "unknown_agent"),
        (
            b'{"agent": "sales", "callback": {"url": "http://127.0.0.1:1/x"}}',
            422,
            "unsafe_callback_url",
        ),
        (
            b'{"agent": "sales", "callback": {"url": "https://10.0.0.5/x"}}',
            422,
            "unsafe_callback_url",
        ),
        (
            b'{"agent": "sales", "callback": {"url": "https://93.184.215.14/x", '
            b'"secret_env": "NO_SUCH_SECRET_VAR"}}',
            422,
            "missing_secret",
        ),
    ],
)
def test_bad_start_requests_get_a_clear_error_and_change_nothing(
    rig: AdminRig, body: bytes, status: int, code: str
) -> None:
    response = rig.api(
        "POST", "/api/calls", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert rig.upstream_web_calls() == 0
    assert rig.count(CallRow) == 0


def test_an_oversized_or_non_json_body_is_refused(rig: AdminRig) -> None:
    huge = b'{"agent": "sales", "variables": {"x": "' + b"a" * (1024 * 1024) + b'"}}'
    response = rig.api(
        "POST", "/api/calls", content=huge, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"
    form = rig.api(
        "POST",
        "/api/calls",
        content=b"agent=sales",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert form.status_code == 415
    assert rig.upstream_web_calls() == 0
    assert rig.count(CallRow) == 0


@pytest.mark.parametrize("query", ["limit=0", "limit=201", "limit=ten", "offset=-1", "state=bogus"])
def test_bad_list_queries_get_400(rig: AdminRig, query: str) -> None:
    response = rig.api("GET", f"/api/calls?{query}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_query"


def test_unknown_ids_get_404(rig: AdminRig) -> None:
    assert rig.api("GET", "/api/calls/call_nope").json()["error"]["code"] == "unknown_call"
    stop = rig.api("POST", "/api/calls/call_nope/stop")
    assert (stop.status_code, stop.json()["error"]["code"]) == (404, "unknown_call")
    replay = rig.api("POST", "/api/deliveries/dlv_nope/replay")
    assert (replay.status_code, replay.json()["error"]["code"]) == (404, "unknown_delivery")


def test_failed_deliveries_are_listed_and_replayed_with_the_same_id(rig: AdminRig) -> None:
    call_id = rig.start_call()["call_id"]
    rig.seed_delivery(call_id, state="dead", delivery_id="dlv_failed")
    rig.seed_delivery(call_id, state="delivered", delivery_id="dlv_done")

    everything = rig.api("GET", "/api/deliveries").json()["deliveries"]
    assert {d["id"] for d in everything} == {"dlv_failed", "dlv_done"}
    failed = rig.api("GET", "/api/deliveries?failed=true").json()["deliveries"]
    assert [d["id"] for d in failed] == ["dlv_failed"]
    assert failed[0]["last_error"] == "HTTP 500 from receiver"
    detail = rig.api("GET", f"/api/calls/{call_id}").json()
    history = {d["id"]: d["history"] for d in detail["deliveries"]}
    assert [a["status_code"] for a in history["dlv_failed"]] == [500]

    replay = rig.api("POST", "/api/deliveries/dlv_failed/replay")
    assert replay.status_code == 202
    assert replay.json()["delivery_id"] == "dlv_failed"
    rig.replayed("dlv_failed")

    done = rig.api("POST", "/api/deliveries/dlv_done/replay")
    assert (done.status_code, done.json()["error"]["code"]) == (409, "not_replayable")
    delivered = rig.delivery("dlv_done")
    assert delivered is not None and delivered.state == "delivered"
    assert rig.count(DeliveryRow) == 2


def test_a_rate_limited_oneinbox_is_a_503_with_retry_after_as_for_hooks(rig: AdminRig) -> None:
    """The admin API and the hooks answer an upstream 429 alike: retry later, not a failure."""
    changed = rig.sim("PATCH", "/_sim/config", json={"rate_429": 1.0, "retry_after_seconds": 0})
    assert changed.status_code == 200, changed.text
    response = rig.api("POST", "/api/calls", json={"agent": "sales"})
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "upstream_rate_limited"
    assert response.headers["retry-after"] == "1"
    assert rig.calls() == []  # nothing was started or stored
