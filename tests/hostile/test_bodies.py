"""Hostile JSON bodies on every route that reads one: a clear 400/413/415, never a 500."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import pytest

from gateway.upstream import SIMULATOR_MOUNT
from tests.hostile.rig import ADMIN, BEARER, SECRET_KEY, Rig

LINK = "a" * 24  # the shape of a link id; no such link exists

# (name, body, expected code)
BAD_JSON: list[tuple[str, bytes, str]] = [
    ("nan", b'{"firstname": NaN}', "malformed_json"),
    ("infinity", b'{"firstname": Infinity}', "malformed_json"),
    ("minus-infinity", b"[-Infinity]", "malformed_json"),
    ("1e400", b'{"n": 1e400}', "number_out_of_range"),
    ("-1e400", b'{"n": -1e400}', "number_out_of_range"),
    ("lone-high-surrogate", b'{"firstname": "\\ud800"}', "malformed_json"),
    ("lone-low-surrogate-key", b'{"\\udfff": 1}', "malformed_json"),
    ("5000-digit-int", b'{"n": ' + b"7" * 5000 + b"}", "number_out_of_range"),
    ("41-digit-int", b'{"n": -' + b"9" * 41 + b"}", "number_out_of_range"),
    ("5000-deep-arrays", b"[" * 5000 + b"]" * 5000, "json_too_deep"),
    ("100000-deep-objects", b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "json_too_deep"),
    ("65-deep", b"[" * 65 + b"]" * 65, "json_too_deep"),
    ("invalid-utf8", b'{"firstname": "\xff\xfe"}', "invalid_encoding"),
    ("overlong-utf8", b'{"firstname": "\xc0\xaf"}', "invalid_encoding"),
    ("utf16", '{"firstname": "Ada"}'.encode("utf-16"), "invalid_encoding"),
    ("truncated", b'{"firstname": "Ada"', "malformed_json"),
    ("not-json", b"firstname=Ada", "malformed_json"),
]
IDS = [case[0] for case in BAD_JSON]


def webhook_token() -> str:
    return hmac.new(
        SECRET_KEY.encode(), b"oneinbox-gateway/webhook-token/v1", hashlib.sha256
    ).hexdigest()


def routes() -> list[tuple[str, str, dict[str, str]]]:
    return [
        ("POST", "/hooks/lead", BEARER),
        ("POST", f"/join/{LINK}/session", {}),
        ("POST", f"/join/{LINK}/leave", {}),
        ("POST", "/webhooks/oneinbox", {"X-Gateway-Webhook-Token": webhook_token()}),
        ("POST", "/api/calls", ADMIN),
    ]


ROUTE_IDS = ["hook", "join-session", "join-leave", "oneinbox-webhook", "admin"]


@pytest.mark.parametrize(("method", "path", "headers"), routes(), ids=ROUTE_IDS)
@pytest.mark.parametrize(("name", "body", "code"), BAD_JSON, ids=IDS)
def test_hostile_json_gets_a_clear_400(
    rig: Rig, method: str, path: str, headers: dict[str, str], name: str, body: bytes, code: str
) -> None:
    sent = {**headers, "Content-Type": "application/json"}
    rig.attack(method, path, status=400, code=code, content=body, headers=sent)


@pytest.mark.parametrize(("method", "path", "headers"), routes(), ids=ROUTE_IDS)
def test_a_body_over_one_mebibyte_is_413(
    rig: Rig, method: str, path: str, headers: dict[str, str]
) -> None:
    body = b'{"pad": "' + b"x" * (1024 * 1024) + b'"}'
    sent = {**headers, "Content-Type": "application/json"}
    rig.attack(method, path, status=413, code="body_too_large", content=body, headers=sent)


@pytest.mark.parametrize(("method", "path", "headers"), routes(), ids=ROUTE_IDS)
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
def test_a_body_that_is_not_json_is_415(
    rig: Rig, method: str, path: str, headers: dict[str, str], content_type: str
) -> None:
    sent = {**headers, "Content-Type": content_type}
    rig.attack(method, path, status=415, code="unsupported_media_type", content=b"{}", headers=sent)


def test_a_streamed_body_over_the_limit_is_413_without_a_length(rig: Rig) -> None:
    def chunks() -> Any:
        for _ in range(20):
            yield b"x" * 65536

    sent = {**BEARER, "Content-Type": "application/json"}
    rig.attack(
        "POST", "/hooks/lead", status=413, code="body_too_large", content=chunks(), headers=sent
    )


@pytest.mark.parametrize(
    "value", ["%C2%B2", "%D9%A3", "1e3", "-1", "99999999999999999999999", "%00", "0x10", ""]
)
@pytest.mark.parametrize("param", ["limit", "offset"])
def test_admin_paging_takes_only_plain_numbers(rig: Rig, param: str, value: str) -> None:
    rig.attack(
        "GET", f"/api/calls?{param}={value}", status=400, code="invalid_query", headers=ADMIN
    )


def test_the_simulator_reads_bodies_strictly_too(rig: Rig) -> None:
    """Local mode mounts the simulator; its API gets the same reader (OneInbox-shaped 422)."""
    before = rig.rows()
    response = rig.request(
        "POST",
        SIMULATOR_MOUNT + "/v1/agents",
        content=b'{"name": NaN}',
        headers={"Authorization": "Bearer oi_sk_local", "Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["type"] == "json_invalid"
    deep = rig.request(
        "POST",
        SIMULATOR_MOUNT + "/v1/agents",
        content=b"[" * 5000 + b"]" * 5000,
        headers={"Authorization": "Bearer oi_sk_local", "Content-Type": "application/json"},
    )
    assert deep.status_code == 422, deep.text
    assert rig.rows() == before
