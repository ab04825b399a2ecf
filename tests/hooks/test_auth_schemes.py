"""Each auth scheme over real HTTP: a correct signature starts a call, nothing else does."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.delivery.signing import SigningSecretError
from integrations.hooks.auth import AuthFailed, SignedRequest, StandardWebhooks
from tests.hooks.conftest import TOKENS
from tests.support.hooks import PUBLIC, Gateway, gateway
from tests.support.signing import basic, hmac_hex, hubspot_v3_headers, standard_webhooks_headers

CONFIG = """
[agents.sales]
create = { first_message = "Hi!" }

[hooks.swh]
agent = "sales"
auth = { scheme = "standard_webhooks", secret_env = "HOOK_WHSEC" }

[hooks.hmac-hex]
agent = "sales"
[hooks.hmac-hex.auth]
scheme = "hmac_sha256"
secret_env = "HOOK_HMAC_SECRET"
header = "X-Signature"
prefix = "sha256="

[hooks.hmac-b64]
agent = "sales"
[hooks.hmac-b64.auth]
scheme = "hmac_sha256"
secret_env = "HOOK_HMAC_SECRET"
header = "X-Sig"
encoding = "base64"

[hooks.hubspot]
agent = "sales"
auth = { scheme = "hubspot_v3", secret_env = "HUBSPOT_CLIENT_SECRET" }

[hooks.basic]
agent = "sales"
auth = { scheme = "basic", username_env = "HOOK_USER", password_env = "HOOK_PASSWORD" }

[hooks.open]
agent = "sales"
auth = { scheme = "none" }
"""
BODY = json.dumps({"firstname": "Ada"}).encode()
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    monkeypatch = pytest.MonkeyPatch()
    for name, value in TOKENS.items():
        monkeypatch.setenv(name, value)
    try:
        with gateway(tmp_path_factory.mktemp("auth"), CONFIG) as server:
            yield server
    finally:
        monkeypatch.undo()


def unauthorized(response: object) -> None:
    assert response.status_code == 401, response.text  # type: ignore[attr-defined]
    assert response.json() == {  # type: ignore[attr-defined]
        "error": {"code": "unauthorized", "message": "authentication failed"}
    }


def started(gw: Gateway, response: object) -> str:
    assert response.status_code == 202, response.text  # type: ignore[attr-defined]
    return str(response.json()["call_id"])  # type: ignore[attr-defined]


def test_standard_webhooks_signed_by_the_reference_library(gw: Gateway) -> None:
    headers = standard_webhooks_headers(TOKENS["HOOK_WHSEC"], BODY)
    started(gw, gw.post("swh", content=BODY, headers=headers))


def test_standard_webhooks_retry_with_the_same_id_gets_the_first_answer(gw: Gateway) -> None:
    headers = standard_webhooks_headers(TOKENS["HOOK_WHSEC"], BODY)
    first = gw.post("swh", content=BODY, headers=headers)
    before = gw.count("calls")
    again = gw.post("swh", content=BODY, headers=headers)
    assert again.status_code == 202 and again.json() == first.json()
    assert gw.count("calls") == before


@pytest.mark.parametrize("case", ["wrong-secret", "stale", "future", "tampered", "no-headers"])
def test_standard_webhooks_rejections(gw: Gateway, case: str) -> None:
    before = gw.count("calls")
    other = "whsec_" + base64.b64encode(b"another secret of 32 bytes......").decode()
    secret = other if case == "wrong-secret" else TOKENS["HOOK_WHSEC"]
    # 30 s past the 300 s tolerance either way: a slow machine cannot bring "future" back in.
    age = {"stale": 330.0, "future": -330.0}.get(case, 0.0)
    headers = standard_webhooks_headers(secret, BODY, age=age)
    body = BODY + b" " if case == "tampered" else BODY
    if case == "no-headers":
        headers = dict(JSON)
    unauthorized(gw.post("swh", content=body, headers=headers))
    assert gw.count("calls") == before


def test_hmac_sha256_hex_with_prefix(gw: Gateway) -> None:
    signature = "sha256=" + hmac_hex(TOKENS["HOOK_HMAC_SECRET"], BODY)
    started(gw, gw.post("hmac-hex", content=BODY, headers={**JSON, "X-Signature": signature}))
    unauthorized(gw.post("hmac-hex", content=BODY, headers={**JSON, "X-Signature": signature[7:]}))
    wrong = "sha256=" + hmac_hex("not the secret", BODY)
    unauthorized(gw.post("hmac-hex", content=BODY, headers={**JSON, "X-Signature": wrong}))


def test_hmac_sha256_base64(gw: Gateway) -> None:
    digest = bytes.fromhex(hmac_hex(TOKENS["HOOK_HMAC_SECRET"], BODY))
    good = base64.b64encode(digest).decode()
    started(gw, gw.post("hmac-b64", content=BODY, headers={**JSON, "X-Sig": good}))
    unauthorized(gw.post("hmac-b64", content=BODY + b"\n", headers={**JSON, "X-Sig": good}))


def test_hubspot_v3_is_checked_against_the_public_url_not_the_host(gw: Gateway) -> None:
    secret = TOKENS["HUBSPOT_CLIENT_SECRET"]
    public = hubspot_v3_headers(secret, "POST", f"{PUBLIC}/hooks/hubspot?portal=7", BODY)
    started(gw, gw.post("hubspot?portal=7", content=BODY, headers=public))
    local = hubspot_v3_headers(secret, "POST", f"{gw.url}/hooks/hubspot", BODY)
    unauthorized(gw.post("hubspot", content=BODY, headers=local))


@pytest.mark.parametrize("case", ["stale", "wrong-method", "wrong-secret", "tampered"])
def test_hubspot_v3_rejections(gw: Gateway, case: str) -> None:
    secret = "nope" if case == "wrong-secret" else TOKENS["HUBSPOT_CLIENT_SECRET"]
    method = "GET" if case == "wrong-method" else "POST"
    age = 301.0 if case == "stale" else 0.0
    headers = hubspot_v3_headers(secret, method, f"{PUBLIC}/hooks/hubspot", BODY, age=age)
    body = BODY.replace(b"Ada", b"Eve") if case == "tampered" else BODY
    unauthorized(gw.post("hubspot", content=body, headers=headers))


def test_basic_auth(gw: Gateway) -> None:
    good = basic(TOKENS["HOOK_USER"], TOKENS["HOOK_PASSWORD"])
    started(gw, gw.post("basic", content=BODY, headers={**JSON, **good}))
    for user, password in [("x", TOKENS["HOOK_PASSWORD"]), (TOKENS["HOOK_USER"], "x")]:
        unauthorized(gw.post("basic", content=BODY, headers={**JSON, **basic(user, password)}))
    bad = {"Authorization": "Basic !!!not-base64"}
    unauthorized(gw.post("basic", content=BODY, headers={**JSON, **bad}))


def test_scheme_none_takes_anyone(gw: Gateway) -> None:
    started(gw, gw.post("open", content=BODY, headers=JSON))


def test_credentials_never_reach_field_mapping(tmp_path: Path) -> None:
    config = """
[agents.sales]
create = {}
[hooks.leak]
agent = "sales"
auth = { scheme = "bearer", token_env = "NEW_LEAD_TOKEN" }
metadata = { everything = "headers" }
"""
    with gateway(tmp_path, config) as server:
        auth = {"Authorization": f"Bearer {TOKENS['NEW_LEAD_TOKEN']}", "X-Trace": "t1"}
        call_id = started(server, server.post("leak", json={}, headers=auth))
        metadata = server.simulator.calls[call_id].metadata
        assert metadata["everything"]["x-trace"] == "t1"
        assert "authorization" not in metadata["everything"]
        assert TOKENS["NEW_LEAD_TOKEN"] not in json.dumps(metadata)


def test_a_hook_reads_its_standard_webhooks_secret_as_callbacks_do() -> None:
    """One parser: several secrets during a rotation, each a `whsec_` key of 16 bytes or more."""
    new = "whsec_" + base64.b64encode(b"the new secret, 32 bytes long..").decode()
    old = TOKENS["HOOK_WHSEC"]
    scheme = StandardWebhooks(f"{new} {old}")
    for secret in (new, old):
        headers = {k.lower(): v for k, v in standard_webhooks_headers(secret, BODY).items()}
        scheme.verify(SignedRequest("POST", "http://127.0.0.1/hooks/swh", headers, BODY))
    other = "whsec_" + base64.b64encode(b"another secret of 32 bytes......").decode()
    headers = {k.lower(): v for k, v in standard_webhooks_headers(other, BODY).items()}
    with pytest.raises(AuthFailed):
        scheme.verify(SignedRequest("POST", "http://127.0.0.1/hooks/swh", headers, BODY))
    short = "whsec_" + base64.b64encode(b"too short").decode()
    for unusable in (short, "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_not*base64", " "):
        with pytest.raises(SigningSecretError):
            StandardWebhooks(unusable)
