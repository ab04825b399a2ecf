"""A destination that fails for too long is disabled, its deliveries held, and enabled by
hand; every try names the secrets that signed it; a test event reaches a real receiver.

A real local-mode gateway on loopback, a real receiver that verifies with `standardwebhooks`;
`DESTINATION_DISABLE_AFTER_SECONDS` and the retry schedule are made short by settings.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from standardwebhooks import Webhook

from gateway.delivery.signing import key_fingerprint
from tests.admin.rig import AdminRig, admin_rig
from tests.support.receiver import CallbackReceiver, new_secret
from tests.support.servers import ServerThread, serve_app, wait_until

SECRET_ENV = "ENDPOINT_HEALTH_WHSEC"


@pytest.fixture
def receiver() -> Iterator[tuple[CallbackReceiver, ServerThread]]:
    rx = CallbackReceiver()
    with serve_app(rx.app) as server:
        yield rx, server


def finished_call(rig: AdminRig, url: str) -> str:
    """A call whose result goes to `url`, ended at once; its id."""
    started = rig.start_call(callback={"url": url, "secret_env": SECRET_ENV})
    call_id = str(started["call_id"])
    assert rig.sim("POST", f"/_sim/calls/{call_id}/end", json={}).status_code == 200
    return call_id


def delivery_of(rig: AdminRig, call_id: str) -> dict[str, Any] | None:
    detail = rig.api("GET", f"/api/calls/{call_id}").json()
    deliveries = detail.get("deliveries") or []
    return dict(deliveries[0]) if deliveries else None


def scrape(rig: AdminRig) -> dict[tuple[str, ...], float]:
    text = rig.api("GET", "/metrics").text
    assert "_created" not in text
    return {
        (s.name, *s.labels.values()): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _state(rig: AdminRig, call_id: str) -> str:
    return str(rig.api("GET", f"/api/calls/{call_id}").json()["state"])


def destinations(rig: AdminRig) -> list[dict[str, Any]]:
    response = rig.api("GET", "/api/destinations")
    assert response.status_code == 200, response.text
    return list(response.json()["destinations"])


def test_a_destination_failing_too_long_is_disabled_holds_deliveries_and_is_enabled_by_hand(
    tmp_path: Path,
    receiver: tuple[CallbackReceiver, ServerThread],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rx, server = receiver
    monkeypatch.setenv(SECRET_ENV, rx.secret)
    rx.failing = True
    url = server.url + "/hook"
    with admin_rig(
        tmp_path,
        callback_allow_private=True,
        destination_disable_after_seconds=1.0,
        delivery_schedule_scale=0.0005,  # retries after ~2 ms, 0.15 s, 0.9 s, 3.6 s …
    ) as rig:
        first = finished_call(rig, url)
        disabled = wait_until(
            lambda: [d for d in destinations(rig) if d["status"] == "disabled"],
            timeout=30,
            what="the failing destination to be disabled",
        )
        (endpoint,) = disabled
        assert endpoint["target"] == url and endpoint["destination"] == "callback"
        assert endpoint["disabled_reason"] and endpoint["failing_since"]
        assert "503" in (endpoint["last_error"] or "")
        held_first = wait_until(
            lambda: (d := delivery_of(rig, first)) and d["state"] == "held" and d
        )
        tries_before = rx.tries_of(held_first["id"])
        assert tries_before >= 2  # it really failed, more than once, before being held

        # A result for the disabled destination is queued held and never tried.
        second = finished_call(rig, url)
        held_second = wait_until(
            lambda: (d := delivery_of(rig, second)) and d["state"] == "held" and d, timeout=20
        )
        assert rx.tries_of(held_second["id"]) == 0
        assert rx.tries_of(held_first["id"]) == tries_before
        (listed,) = destinations(rig)
        assert listed["held"] == 2
        metrics = scrape(rig)
        assert metrics[("gateway_disabled_destinations", "callback")] == 1
        assert metrics[("gateway_deliveries", "callback", "held")] == 2
        assert metrics[("gateway_delivery_attempts_total", "callback", "pending")] >= 1
        assert metrics[("gateway_delivery_attempts_total", "callback", "held")] == 1
        failed = rig.api("GET", "/api/deliveries?failed=true").json()["deliveries"]
        assert {d["id"] for d in failed} >= {held_first["id"], held_second["id"]}
        # Replaying a held delivery says what to do instead.
        refused = rig.api("POST", f"/api/deliveries/{held_second['id']}/replay")
        assert refused.status_code == 409
        assert "enable" in refused.json()["error"]["message"]

        # The receiver is back; enabling the destination sends both, now.
        rx.failing = False
        enabled = rig.api("POST", f"/api/destinations/{endpoint['id']}/enable")
        assert enabled.status_code == 200, enabled.text
        assert enabled.json() == {
            "destination_id": endpoint["id"],
            "was_disabled": True,
            "released": 2,
        }
        wait_until(
            lambda: {first, second} <= rx.accepted_call_ids(), timeout=20, what="both results"
        )
        assert all(r.verified for r in rx.accepted())
        wait_until(lambda: destinations(rig)[0]["status"] == "ok", timeout=10)
        assert destinations(rig)[0]["held"] == 0
        # The receiver has both; the gateway counts an attempt once it has recorded it, a
        # moment later (the race this waits out).
        delivered = ("gateway_delivery_attempts_total", "callback", "delivered")
        metrics = wait_until(
            lambda: (m := scrape(rig)).get(delivered) == 2 and m, timeout=10, what="2 counted"
        )
        assert metrics.get(("gateway_disabled_destinations", "callback"), 0) == 0
        for call_id in (first, second):
            wait_until(lambda c=call_id: _state(rig, c) == "delivered", timeout=10)
        again = rig.api("POST", f"/api/destinations/{endpoint['id']}/enable").json()
        assert again["was_disabled"] is False and again["released"] == 0
        assert rig.api("POST", "/api/destinations/dst_nope/enable").status_code == 404


def test_a_destination_that_recovers_in_time_is_never_disabled(
    tmp_path: Path,
    receiver: tuple[CallbackReceiver, ServerThread],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rx, server = receiver
    monkeypatch.setenv(SECRET_ENV, rx.secret)
    rx.fail_first = 2  # two failures, then a success: well inside an hour
    with admin_rig(
        tmp_path,
        callback_allow_private=True,
        destination_disable_after_seconds=3600.0,
        delivery_schedule_scale=0.0005,
    ) as rig:
        call_id = finished_call(rig, server.url + "/hook")
        wait_until(lambda: call_id in rx.accepted_call_ids(), timeout=20)
        (endpoint,) = wait_until(
            lambda: [d for d in destinations(rig) if d["status"] == "ok" and d["last_success_at"]]
        )
        assert endpoint["failing_since"] is None and endpoint["disabled_at"] is None


def test_every_try_names_the_secrets_that_signed_it_by_fingerprint(
    tmp_path: Path,
    receiver: tuple[CallbackReceiver, ServerThread],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rx, server = receiver
    new = new_secret()
    # A rotation: the new secret first, the old one (the receiver's) after it.
    monkeypatch.setenv(SECRET_ENV, f"{new} {rx.secret}")
    with admin_rig(tmp_path, callback_allow_private=True) as rig:
        call_id = finished_call(rig, server.url + "/hook")
        wait_until(lambda: call_id in rx.accepted_call_ids(), timeout=20)
        (received,) = rx.accepted()
        assert len(received.signature.split()) == 2
        Webhook(new).verify(received.body, _headers(received))  # the new secret verifies too
        expected = [key_fingerprint(new), key_fingerprint(rx.secret)]
        delivery = wait_until(
            lambda: (d := delivery_of(rig, call_id)) and d["state"] == "delivered" and d
        )
        assert delivery["signed_by"] == expected
        assert [a["signed_by"] for a in delivery["history"]] == [expected]
        listed = rig.api("GET", "/api/deliveries").json()["deliveries"]
        assert [d["signed_by"] for d in listed if d["call_id"] == call_id] == [expected]
        page = rig.api("GET", f"/api/calls/{call_id}").text
        assert new not in page and rx.secret not in page  # fingerprints only, never a secret


def _headers(received: Any) -> dict[str, str]:
    return {
        "webhook-id": received.webhook_id,
        "webhook-timestamp": received.timestamp,
        "webhook-signature": received.signature,
    }


def test_send_a_test_event_to_a_destination_and_to_a_url(
    tmp_path: Path,
    receiver: tuple[CallbackReceiver, ServerThread],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rx, server = receiver
    monkeypatch.setenv(SECRET_ENV, rx.secret)
    url = server.url + "/hook"
    with admin_rig(tmp_path, callback_allow_private=True) as rig:
        call_id = finished_call(rig, url)
        wait_until(lambda: call_id in rx.accepted_call_ids(), timeout=20)
        (endpoint,) = destinations(rig)

        sent = rig.api("POST", f"/api/destinations/{endpoint['id']}/test")
        assert sent.status_code == 200, sent.text
        answer = sent.json()
        assert answer["ok"] is True and answer["status_code"] == 200
        assert answer["signed_by"] == [key_fingerprint(rx.secret)]
        (test_event,) = [r for r in rx.all() if r.webhook_id == answer["webhook_id"]]
        payload = Webhook(rx.secret).verify(test_event.body, _headers(test_event))
        assert payload["type"] == "webhook.test" and "data" in payload
        assert test_event.verified

        # A receiver that fails: the answer says so.
        rx.failing = True
        failed = rig.api(
            "POST", "/api/destinations/test", json={"url": url, "secret_env": SECRET_ENV}
        ).json()
        assert failed["ok"] is False and failed["status_code"] == 503
        assert "503" in failed["error"]
        # Test events are not results: no delivery, no call, no change of health.
        assert destinations(rig)[0]["status"] == "ok"

        missing = rig.api(
            "POST", "/api/destinations/test", json={"url": url, "secret_env": "NOT_SET_ANYWHERE"}
        )
        assert missing.status_code == 422
        assert missing.json()["error"]["code"] == "missing_secret"
        assert rig.api("POST", "/api/destinations/dst_nope/test").status_code == 404


def test_a_test_event_goes_through_the_ssrf_guard(tmp_path: Path) -> None:
    with admin_rig(tmp_path) as rig:  # private addresses not allowed (the default)
        refused = rig.api("POST", "/api/destinations/test", json={"url": "http://127.0.0.1:9/x"})
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["code"] == "unsafe_callback_url"
