"""`POST /slack/events` refuses anything Slack did not sign, and bad input changes nothing."""

from __future__ import annotations

import time

import pytest

from tests.slack.conftest import SlackRig
from tests.slack.signing import command_body, signed_headers

CALL = 'call sales customer_name="Ada"'


def assert_nothing_happened(rig: SlackRig) -> None:
    assert rig.upstream_calls() == 0
    assert rig.stored_calls() == []
    assert [c.method for c in rig.fake.calls if c.method != "auth.test"] == []
    assert rig.fake.responses == []


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"Content-Type": "application/x-www-form-urlencoded"}, id="missing"),
        pytest.param("wrong", id="wrong-secret"),
        pytest.param("stale", id="stale"),
        pytest.param("tampered", id="tampered-body"),
    ],
)
def test_unsigned_stale_or_wrong_signature_gets_401_and_nothing_happens(
    rig: SlackRig, headers: object
) -> None:
    body = command_body(CALL, response_url=rig.response_url)
    if headers == "wrong":
        sent = signed_headers(body, secret="not-the-signing-secret")
    elif headers == "stale":
        sent = signed_headers(body, timestamp=int(time.time()) - 6 * 60)
    elif headers == "tampered":
        sent = signed_headers(body.replace("sales", "other"))
    else:
        assert isinstance(headers, dict)
        sent = headers
    response = rig.post(body, sent)
    assert response.status_code == 401
    time.sleep(0.3)  # give a wrongly started background task a chance to show itself
    assert_nothing_happened(rig)


def test_oversized_body_gets_413_before_anything_else(rig: SlackRig) -> None:
    body = command_body(CALL + " pad=" + "x" * (1024 * 1024), response_url=rig.response_url)
    response = rig.post(body, signed_headers(body))
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"
    assert_nothing_happened(rig)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("%%%not a form%%%", "application/x-www-form-urlencoded"),
        ("{not json", "application/json"),
        ("payload=%7Bbroken", "application/x-www-form-urlencoded"),
    ],
    ids=["garbage-form", "broken-json", "broken-payload"],
)
def test_signed_malformed_body_gets_a_4xx_and_nothing_happens(
    rig: SlackRig, body: str, content_type: str
) -> None:
    response = rig.post(body, signed_headers(body, content_type=content_type))
    assert 400 <= response.status_code < 500
    assert_nothing_happened(rig)


@pytest.mark.parametrize("missing", ["channel_id", "user_id"])
def test_command_missing_its_channel_or_user_is_answered_and_starts_nothing(
    rig: SlackRig, missing: str
) -> None:
    body = command_body(CALL, response_url=rig.response_url, **{missing: ""})
    response = rig.post(body, signed_headers(body))
    assert response.status_code == 200
    assert "missing its user or channel" in response.text
    time.sleep(0.3)
    assert_nothing_happened(rig)


def test_signed_request_with_no_command_field_is_rejected(rig: SlackRig) -> None:
    body = "text=call+sales&user_id=U1&channel_id=C1"
    response = rig.post(body, signed_headers(body))
    assert response.status_code == 400
    assert_nothing_happened(rig)
