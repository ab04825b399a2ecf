"""The callback destination on its own: the SSRF guard is applied at send time, after DNS,
and a signature any Standard Webhooks library accepts."""

from __future__ import annotations

import asyncio
import base64
import json
import time

import jsonschema
import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from gateway.admin.openapi import build_spec
from gateway.calls.commands import Origin
from gateway.calls.result import CallResult
from gateway.delivery.callback import CallbackDestination, callback_body, pinned_url
from gateway.delivery.probe import webhook_test_body
from gateway.delivery.registry import DeliveryAttempt
from gateway.delivery.signing import SigningSecretError, key_fingerprint, sign, signed_headers
from gateway.store.tables import utcnow
from tests.support.receiver import CallbackReceiver, new_secret
from tests.support.servers import serve_app

RESULT = CallResult(
    call_id="call_1",
    agent_id="agt_1",
    status="completed",
    origin=Origin(kind="hook", name="crm"),
    summary="ok",
)


def attempt(url: str, secret_env: str | None = "CB_SECRET") -> DeliveryAttempt:  # noqa: S107
    config = {"url": url, **({"secret_env": secret_env} if secret_env else {})}
    return DeliveryAttempt("msg_1", "call_1", url, config, attempt=1, uncertain=False)


def deliver(destination: CallbackDestination, url: str, **kw: object) -> object:
    async def run() -> object:
        try:
            return await destination.deliver(attempt(url, **kw), RESULT)  # type: ignore[arg-type]
        finally:
            await destination.aclose()

    return asyncio.run(run())


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_private_address_is_refused_at_send_time_after_dns(
    host: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver = CallbackReceiver()
    monkeypatch.setenv("CB_SECRET", receiver.secret)
    with serve_app(receiver.app) as rx:
        url = f"https://{host}:{rx.port}/hook"
        outcome = deliver(CallbackDestination(allow_private=False), url)
    assert outcome.permanent and not outcome.ok  # type: ignore[attr-defined]
    assert "private or internal" in outcome.error  # type: ignore[attr-defined]
    assert receiver.all() == []


def test_a_missing_secret_variable_is_a_permanent_error_that_names_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CB_SECRET", raising=False)
    outcome = deliver(CallbackDestination(allow_private=True), "http://127.0.0.1:9/hook")
    assert outcome.permanent  # type: ignore[attr-defined]
    assert "CB_SECRET is not set" in outcome.error  # type: ignore[attr-defined]


def test_a_signed_post_reaches_the_receiver_by_its_checked_address(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    receiver = CallbackReceiver()
    monkeypatch.setenv("CB_SECRET", receiver.secret)
    with serve_app(receiver.app) as rx:
        outcome = deliver(
            CallbackDestination(allow_private=True), f"http://localhost:{rx.port}/hook"
        )
    assert outcome.ok  # type: ignore[attr-defined]
    [post] = receiver.all()
    assert post.verified and post.webhook_id == "msg_1"
    assert post.body == callback_body(RESULT)
    assert json.loads(post.body)["type"] == "call.completed"


def test_signatures_verify_with_the_reference_library() -> None:
    secret = new_secret()
    body = callback_body(RESULT)
    headers = signed_headers(secret, "msg_abc", 1_700_000_000, body)
    assert headers["webhook-signature"].startswith("v1,")
    verifier = Webhook(secret)
    with pytest.raises(Exception, match=r"too old|timestamp"):
        verifier.verify(body, headers)  # the reference library checks the timestamp's age too

    fresh = signed_headers(secret, "msg_abc", int(time.time()), body)
    assert verifier.verify(body, fresh)["data"]["call_id"] == "call_1"


def test_during_a_rotation_receivers_with_either_secret_accept_the_same_try() -> None:
    new, old = new_secret(), new_secret()
    body = callback_body(RESULT)
    headers = signed_headers(f"{new} {old}", "msg_rot", int(time.time()), body)
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (new, old):
        assert Webhook(secret).verify(body, headers)["data"]["call_id"] == "call_1"
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)
    assert key_fingerprint(new) != key_fingerprint(old)
    assert key_fingerprint(new).startswith("whsec:") and new not in key_fingerprint(new)


def test_one_unusable_secret_in_a_rotation_stops_signing_altogether() -> None:
    with pytest.raises(SigningSecretError):
        sign(f"{new_secret()} whsec_!!!", "msg_1", 1, b"{}")
    with pytest.raises(SigningSecretError):
        sign("   ", "msg_1", 1, b"{}")


@pytest.mark.parametrize(
    "secret",
    ["not-whsec", "whsec_!!!", "whsec_" + base64.b64encode(b"short").decode()],
)
def test_an_unusable_secret_is_refused_without_echoing_it(secret: str) -> None:
    with pytest.raises(SigningSecretError) as caught:
        sign(secret, "msg_1", 1, b"{}")
    assert secret not in str(caught.value)


def test_pinned_urls_keep_port_path_and_query() -> None:
    assert pinned_url("https://example.com/a?b=1", "93.184.216.34") == "https://93.184.216.34/a?b=1"
    assert pinned_url("http://h:8080/x", "::1") == "http://[::1]:8080/x"


def test_the_openapi_webhook_entry_describes_the_bytes_we_send() -> None:
    spec = build_spec([])
    hook = spec["webhooks"]["callResult"]["post"]
    headers = {p["name"] for p in hook["parameters"] if p["in"] == "header"}
    assert headers == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    schema = hook["requestBody"]["content"]["application/json"]["schema"]
    # Resolve the document's own $refs, as a receiver's code generator would.
    document = {**schema, "components": spec["components"]}
    validator = jsonschema.Draft202012Validator(document)
    body = json.loads(callback_body(RESULT))
    validator.validate(body)
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({**body, "type": "call.other"})
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({"type": "call.completed", "timestamp": None})


def test_the_openapi_test_event_entry_describes_the_test_event_we_send() -> None:
    spec = build_spec([])
    hook = spec["webhooks"]["testEvent"]["post"]
    schema = hook["requestBody"]["content"]["application/json"]["schema"]
    validator = jsonschema.Draft202012Validator({**schema, "components": spec["components"]})
    body = json.loads(webhook_test_body("msg_test_1", utcnow(), by="cli"))
    validator.validate(body)
    assert body["type"] == "webhook.test" and body["data"]["id"] == "msg_test_1"
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({**body, "type": "call.completed"})
