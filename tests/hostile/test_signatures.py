"""Signature checks fail closed: a timestamp that is not plain ASCII digits is a 401."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest

from tests.hostile.rig import ENV_SECRETS, Rig
from tests.slack.signing import command_body, signed_headers
from tests.support.signing import hubspot_v3_headers, standard_webhooks_headers

BAD_STAMPS = [
    "\u00b2",  # superscript two: isdigit() says yes, int() says no
    "\u0661\u0662\u0663",  # Arabic-Indic digits
    "\uff11\uff12",  # full-width digits: int() takes them, the signer never sends them
    "7" * 5000,  # over int()'s 4,300-digit limit
    "9" * 14,  # more digits than any Unix time in milliseconds
    "",
    "-1",
    "1.5",
    "1e9",
    "1700000000 1",
    "0x10",
    "NaN",
]
STAMP_IDS = [f"stamp{i}" for i in range(len(BAD_STAMPS))]
BODY = json.dumps({"firstname": "Ada"}).encode()


@pytest.mark.parametrize("stamp", BAD_STAMPS, ids=STAMP_IDS)
def test_standard_webhooks_timestamp_must_be_plain_digits(rig: Rig, stamp: str) -> None:
    headers = standard_webhooks_headers(ENV_SECRETS["LEAD_WHSEC"], BODY)
    headers["webhook-timestamp"] = stamp
    rig.attack(
        "POST",
        "/hooks/signed",
        status=401,
        code="unauthorized",
        content=BODY,
        headers=_latin1(headers),
    )


@pytest.mark.parametrize("stamp", BAD_STAMPS, ids=STAMP_IDS)
def test_hubspot_v3_timestamp_must_be_plain_digits(rig: Rig, stamp: str) -> None:
    url = rig.public + "/hooks/hubspot"
    headers = hubspot_v3_headers(ENV_SECRETS["HUBSPOT_SECRET"], "POST", url, BODY)
    headers["X-HubSpot-Request-Timestamp"] = stamp
    rig.attack(
        "POST",
        "/hooks/hubspot",
        status=401,
        code="unauthorized",
        content=BODY,
        headers=_latin1(headers),
    )


@pytest.mark.parametrize("stamp", BAD_STAMPS, ids=STAMP_IDS)
def test_slack_timestamp_must_be_plain_digits(rig: Rig, stamp: str) -> None:
    body = command_body("agents", response_url=rig.slack_response_url)
    headers = signed_headers(body)
    headers["X-Slack-Request-Timestamp"] = stamp
    rig.attack(
        "POST",
        "/slack/events",
        status=401,
        code="invalid_signature",
        content=body,
        headers=_latin1(headers),
    )


@pytest.mark.parametrize("age", [320, -320, 10**9])
def test_stale_and_future_signatures_are_refused(rig: Rig, age: int) -> None:
    headers = standard_webhooks_headers(ENV_SECRETS["LEAD_WHSEC"], BODY, age=age)
    rig.attack(
        "POST", "/hooks/signed", status=401, code="unauthorized", content=BODY, headers=headers
    )
    url = rig.public + "/hooks/hubspot"
    hs = hubspot_v3_headers(ENV_SECRETS["HUBSPOT_SECRET"], "POST", url, BODY, age=age)
    rig.attack("POST", "/hooks/hubspot", status=401, code="unauthorized", content=BODY, headers=hs)
    body = command_body("agents", response_url=rig.slack_response_url)
    slack = signed_headers(body, timestamp=int(time.time()) - age)
    rig.attack(
        "POST", "/slack/events", status=401, code="invalid_signature", content=body, headers=slack
    )


def test_hubspot_v3_signature_must_be_base64_of_the_right_message(rig: Rig) -> None:
    url = rig.public + "/hooks/hubspot"
    stamp = str(int(time.time() * 1000))
    wrong = hmac.new(
        b"not-the-secret", b"POST" + url.encode() + BODY + stamp.encode(), hashlib.sha256
    )
    headers = {
        "X-HubSpot-Signature-v3": base64.b64encode(wrong.digest()).decode(),
        "X-HubSpot-Request-Timestamp": stamp,
        "Content-Type": "application/json",
    }
    rig.attack(
        "POST", "/hooks/hubspot", status=401, code="unauthorized", content=BODY, headers=headers
    )


def _latin1(headers: dict[str, str]) -> dict[str, bytes]:
    """Header values as raw bytes (UTF-8), as an attacker's client would send them."""
    return {name: value.encode("utf-8") for name, value in headers.items()}
