"""Secrets never reach a log line: tracebacks carry no local variables and are redacted in
both renderers, JSON logs keep the formatted traceback, and reprs hide what they hold."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
import structlog

from gateway.calls.links import JoinCredentials
from gateway.logging import configure_logging
from gateway.oneinbox.client import OneInboxClient
from gateway.settings import load_settings
from gateway.simulator.tokens import TokenIssuer
from integrations.hooks.auth import Basic, Bearer, HubSpotV3, StandardWebhooks
from integrations.salesforce.api import Session
from integrations.slack.workspace import SlackWorkspaces

HOOK_TOKEN = "hook-bearer-token-5e1f0c9a"
BOT_TOKEN = "xoxb-1234-5678-abcdefSECRET"
WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
ADMIN = "admin-token-for-log-tests-77"
SECRETS = [HOOK_TOKEN, BOT_TOKEN, WHSEC, ADMIN]


def fail_with_secrets_in_locals() -> None:
    authorization = f"Bearer {HOOK_TOKEN}"
    workspace = SlackWorkspaces("http://127.0.0.1:9/api/", BOT_TOKEN)
    secret = WHSEC
    headers = {"authorization": authorization}
    assert workspace and secret and headers
    raise RuntimeError(f"upstream refused {authorization} (whsec: {secret})")


def emit(fmt: str, level: str, via: str) -> None:
    """Log the failure the way the gateway does: structlog, or a stdlib logger (uvicorn)."""
    configure_logging(fmt=fmt, level=level, secrets=[ADMIN, HOOK_TOKEN])
    try:
        fail_with_secrets_in_locals()
    except RuntimeError:
        if via == "structlog":
            structlog.get_logger("test").exception("hook.failed", token_in_kwarg=ADMIN)
        else:
            # As uvicorn logs under `serve` (log_config=None): through the root handler. (Not
            # under uvicorn's own name: servers of other tests reconfigure that logger.)
            logging.getLogger("a.library").exception("Exception in ASGI application")


@pytest.mark.parametrize("via", ["structlog", "stdlib"])
@pytest.mark.parametrize("level", ["debug", "error"])
@pytest.mark.parametrize("fmt", ["json", "console"])
def test_tracebacks_carry_no_secret_and_no_locals(
    capsys: pytest.CaptureFixture[str], fmt: str, level: str, via: str
) -> None:
    capsys.readouterr()
    emit(fmt, level, via)
    out = capsys.readouterr().err
    assert "Traceback (most recent call last)" in out
    assert "fail_with_secrets_in_locals" in out
    for secret in SECRETS:
        assert secret not in out, secret
    # Rich's locals table prints `name = value` rows per frame; a plain traceback has none.
    assert "workspace =" not in out and "│" not in out
    assert len(out) < 8_000  # a formatted traceback, not 71-212 KB of frames and locals
    if fmt == "json":
        record = json.loads(out.strip().splitlines()[-1])
        assert record["exception"].startswith("Traceback")
        assert "RuntimeError: upstream refused" in record["exception"]


def test_exception_objects_logged_as_values_are_scrubbed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(fmt="json", level="debug")
    capsys.readouterr()
    structlog.get_logger("test").warning(
        "task.failed", error=RuntimeError(f"token {BOT_TOKEN}"), thing=JoinCredentials("u", "t")
    )
    out = capsys.readouterr().err
    assert BOT_TOKEN not in out and "RuntimeError" in out


SETTINGS = {
    "admin_token": ADMIN,
    "slack_bot_token": BOT_TOKEN,
    "slack_signing_secret": "signing-secret-for-log-tests",
    "gateway_secret_key": "gateway-secret-for-log-tests",
    "oneinbox_api_key": "oi_sk_log_tests_key_123",
}


def objects_holding_secrets() -> list[Any]:
    return [
        SlackWorkspaces("http://127.0.0.1:9/api/", BOT_TOKEN),
        JoinCredentials("wss://127.0.0.1/rtc", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"),
        load_settings(**SETTINGS),
        Bearer(HOOK_TOKEN),
        Basic("user", HOOK_TOKEN),
        StandardWebhooks(WHSEC),
        HubSpotV3(HOOK_TOKEN),
        OneInboxClient("http://127.0.0.1:9", "oi_sk_log_tests_key_123"),
        Session(access_token=HOOK_TOKEN, instance_url="https://127.0.0.1"),
        TokenIssuer(secret=HOOK_TOKEN),
    ]


@pytest.mark.parametrize("index", range(10))
def test_the_repr_of_an_object_holding_a_secret_hides_it(index: int) -> None:
    thing = objects_holding_secrets()[index]
    shown = repr(thing) + str(thing)
    for secret in [*SECRETS, *SETTINGS.values(), "eyJhbGciOiJIUzI1NiJ9"]:
        assert secret not in shown, (type(thing).__name__, shown[:200])
