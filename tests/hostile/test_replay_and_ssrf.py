"""Replays start nothing new; callback URLs that lead inside are refused before anything runs."""

from __future__ import annotations

import json

import pytest

from tests.hostile.rig import ADMIN, BEARER, ENV_SECRETS, Rig
from tests.support.signing import hubspot_v3_headers, standard_webhooks_headers

BODY = json.dumps({"firstname": "Ada"}).encode()


def test_a_replayed_standard_webhook_with_a_new_idempotency_key_starts_nothing(rig: Rig) -> None:
    headers = standard_webhooks_headers(ENV_SECRETS["LEAD_WHSEC"], BODY)
    first = rig.request("POST", "/hooks/signed", content=BODY, headers=headers)
    assert first.status_code == 202, first.text
    calls, upstream = rig.rows()["calls"], rig.upstream_requests()
    for key in ("attacker-1", "attacker-2"):
        again = rig.request(
            "POST", "/hooks/signed", content=BODY, headers={**headers, "Idempotency-Key": key}
        )
        assert again.status_code == 202, again.text
        assert again.json()["call_id"] == first.json()["call_id"]
    assert rig.rows()["calls"] == calls
    assert rig.upstream_requests() == upstream


def test_the_same_hubspot_v3_request_twice_starts_one_call(rig: Rig) -> None:
    url = rig.public + "/hooks/hubspot"
    body = json.dumps({"firstname": "Bo", "hs_object_id": "77"}).encode()
    headers = hubspot_v3_headers(ENV_SECRETS["HUBSPOT_SECRET"], "POST", url, body)
    first = rig.request("POST", "/hooks/hubspot", content=body, headers=headers)
    assert first.status_code == 202, first.text
    calls, upstream = rig.rows()["calls"], rig.upstream_requests()
    for extra in ({}, {"Idempotency-Key": "attacker"}):
        again = rig.request("POST", "/hooks/hubspot", content=body, headers={**headers, **extra})
        assert again.status_code == 202, again.text
        assert again.json()["call_id"] == first.json()["call_id"]
    assert rig.rows()["calls"] == calls
    assert rig.upstream_requests() == upstream


def test_a_replayed_signature_with_another_body_is_refused(rig: Rig) -> None:
    headers = standard_webhooks_headers(ENV_SECRETS["LEAD_WHSEC"], BODY)
    other = json.dumps({"firstname": "Mallory"}).encode()
    rig.attack(
        "POST", "/hooks/signed", status=401, code="unauthorized", content=other, headers=headers
    )


def test_an_idempotency_key_over_255_characters_is_400(rig: Rig) -> None:
    headers = {**BEARER, "Content-Type": "application/json", "Idempotency-Key": "k" * 256}
    rig.attack(
        "POST",
        "/hooks/plain",
        status=400,
        code="invalid_idempotency_key",
        content=BODY,
        headers=headers,
    )


@pytest.mark.parametrize(
    ("name", "headers"),
    [
        ("one-mebibyte-header", {"X-Pad": "a" * (1024 * 1024)}),
        ("9-KiB-idempotency-key", {"Idempotency-Key": "k" * (9 * 1024)}),
        ("many-headers", {f"X-Pad-{i}": "a" * 1000 for i in range(40)}),
    ],
)
def test_oversized_headers_are_431(rig: Rig, name: str, headers: dict[str, str]) -> None:
    sent = {**BEARER, "Content-Type": "application/json", **headers}
    rig.attack(
        "POST", "/hooks/plain", status=431, code="headers_too_large", content=BODY, headers=sent
    )


UNSAFE_CALLBACKS = [
    "https://[2002:7f00:1::]/",  # 6to4 for 127.0.0.1
    "https://[2002:a9fe:a9fe::]/",  # 6to4 for the metadata address
    "https://[2002:0a00:0001::1]/",  # 6to4 for 10.0.0.1
    "https://[fec0::1]/",  # site-local
    "https://[feff::1]/",  # site-local, the top of fec0::/10
    "https://[2001:0:4136:e378:8000:63bf:80ff:fffe]/",  # Teredo, client 127.0.0.1
    "https://[64:ff9b::7f00:1]/",  # NAT64 for 127.0.0.1
    "https://[::ffff:169.254.169.254]/",  # mapped metadata address
    "https://[::ffff:127.0.0.1]/",
    "https://[::1]/",
    "https://[::]/",
    "https://169.254.169.254/latest/meta-data/",
    "https://100.100.100.200/",
    "https://[fd00:ec2::254]/",
    "https://127.0.0.1/",
    "https://0.0.0.0/",
    "https://10.1.2.3/",
    "https://[::1/",  # malformed IPv6 literal
    "https://[zz::1]/",
    "https://" + "a" * 64 + ".example/",  # a label over 63 characters
    "https://" + ".".join(["a" * 60] * 5) + "/",  # a name over 253 characters
    "https://-lead.example/",
    "https://a..b.example/",
    "https://2130706433/",  # 127.0.0.1 as one number
    "https://0x7f.1/",
    "https://017700000001/",
    "https://93.184.215.14:99999/",  # port out of range
    "https://93.184.215.14:http/",
    "https://user:pw@93.184.215.14/",
    "http://93.184.215.14/",  # http without CALLBACK_ALLOW_PRIVATE
    "ftp://93.184.215.14/",
    "https:///nohost",
    "https://exa mple.com/",
    "https://example.com\x00.evil/",
    "https://\u0000/",
]


@pytest.mark.parametrize(
    "url", UNSAFE_CALLBACKS, ids=[f"url{i}" for i in range(len(UNSAFE_CALLBACKS))]
)
def test_unsafe_callback_urls_from_a_hook_are_422(rig: Rig, url: str) -> None:
    body = json.dumps({"firstname": "Ada", "callback": url}).encode()
    sent = {**BEARER, "Content-Type": "application/json"}
    rig.attack(
        "POST", "/hooks/lead", status=422, code="unsafe_callback_url", content=body, headers=sent
    )


@pytest.mark.parametrize("url", UNSAFE_CALLBACKS[:20], ids=[f"url{i}" for i in range(20)])
def test_unsafe_callback_urls_from_the_admin_api_are_422(rig: Rig, url: str) -> None:
    body = {"agent": "sales", "callback": {"url": url}}
    rig.attack(
        "POST", "/api/calls", status=422, code="unsafe_callback_url", json=body, headers=ADMIN
    )
