"""One processor keeps secrets out of every log line, wherever they appear."""

from __future__ import annotations

import json

import pytest
import structlog

from gateway.logging import REDACTED, SecretRedactor, configure_logging, redactor

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjYWxsXzEifQ.c2lnbmF0dXJlLXZhbHVl"


@pytest.mark.parametrize(
    "secret",
    [
        "oi_sk_live_1234567890abcdef",
        "xoxb-1111-2222-abcdefABCDEF",
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        JWT,
        "Bearer abc.def-123",
    ],
)
def test_secret_shapes_are_scrubbed_inside_any_string(secret: str) -> None:
    scrubbed = SecretRedactor().scrub({"msg": f"failed with {secret} in the middle", "n": [secret]})
    assert secret not in json.dumps(scrubbed)
    assert REDACTED in scrubbed["msg"]


def test_secret_keys_are_scrubbed_whatever_the_value() -> None:
    event = SecretRedactor()(
        None,
        "info",
        {
            "event": "x",
            "headers": {"Authorization": "opaque", "X-Slack-Signature": "v0=abc"},
            "participant_token": "short",
            "signing_secret": "plain-words",
            "call_id": "call_1",
        },
    )
    assert event["headers"] == {"Authorization": REDACTED, "X-Slack-Signature": REDACTED}
    assert event["participant_token"] == REDACTED
    assert event["signing_secret"] == REDACTED
    assert event["call_id"] == "call_1"


def test_known_secret_values_are_scrubbed_even_without_a_shape() -> None:
    redact = SecretRedactor(["hunter2-is-my-signing-secret"])
    assert redact.scrub("sig hunter2-is-my-signing-secret!") == f"sig {REDACTED}!"


def test_configured_json_logs_never_carry_a_secret(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(fmt="json", level="info", secrets=["s3cr3t-admin-token"])
    log = structlog.get_logger("test")
    log.info("request", auth="s3cr3t-admin-token", note=f"token {JWT}", key="oi_sk_abcdef123456")
    line = capsys.readouterr().err.strip().splitlines()[-1]
    record = json.loads(line)
    assert record["event"] == "request"
    for secret in ("s3cr3t-admin-token", JWT, "oi_sk_abcdef123456"):
        assert secret not in line
    assert redactor.scrub("s3cr3t-admin-token") == REDACTED


def test_learned_secrets_are_bounded_and_configured_ones_pinned() -> None:
    redact = SecretRedactor(["configured-secret-value"])
    learned = [f"runtime-token-{i:04d}" for i in range(SecretRedactor.MAX_LEARNED + 10)]
    redact.add(*learned)
    assert redact.scrub(learned[-1]) == REDACTED
    assert redact.scrub(learned[0]) == learned[0]  # the oldest fell out of the bounded set
    assert redact.scrub("configured-secret-value") == REDACTED


def test_secrets_in_url_query_strings_are_scrubbed() -> None:
    url = "http://127.0.0.1:8080/webhooks/oneinbox?token=abc123secret&x=1"
    assert (
        SecretRedactor().scrub(url)
        == f"http://127.0.0.1:8080/webhooks/oneinbox?token={REDACTED}&x=1"
    )
