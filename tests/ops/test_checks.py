"""`oneinbox-gateway check`: Slack's auth.test and every configured hook's secrets."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.fake_slack import FakeSlack
from tests.support.servers import serve_app

BOT_TOKEN = "xoxb-check-test-token-1"
HOOKS_TOML = """
[hooks.new-lead]
agent = "sales"
auth = { scheme = "bearer", token_env = "CHECK_TEST_LEAD_TOKEN" }
notify = [{ callback_url = "https://crm.example/x", secret_env = "CHECK_TEST_LEAD_WHSEC" }]

[hooks.open]
agent = "sales"
"""


def run_check(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CHECK_TEST_"))}
    return subprocess.run(
        [sys.executable, "-m", "gateway", "check"],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def row(output: str, name: str) -> str:
    (line,) = [line for line in output.splitlines() if line.split("  ")[0].strip() == name]
    return line


def test_slack_auth_test_passes_with_the_right_token(gateway_env: dict[str, str]) -> None:
    fake = FakeSlack(token=BOT_TOKEN)
    with serve_app(fake.app) as slack:
        env = {
            **gateway_env,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": "signing-secret-check",
            "SLACK_API_URL": slack.url + "/api/",
        }
        result = run_check(env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok" in row(result.stdout, "slack")
    assert "workspace Fake" in row(result.stdout, "slack")
    assert [call.method for call in fake.calls] == ["auth.test"]


def test_a_refused_bot_token_fails_the_check_without_showing_it(
    gateway_env: dict[str, str],
) -> None:
    fake = FakeSlack(token="xoxb-the-real-one")
    with serve_app(fake.app) as slack:
        env = {
            **gateway_env,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": "signing-secret-check",
            "SLACK_API_URL": slack.url + "/api/",
        }
        result = run_check(env)
    assert result.returncode == 1
    assert "FAIL" in row(result.stdout, "slack")
    assert "invalid_auth" in result.stdout
    assert BOT_TOKEN not in result.stdout + result.stderr


def test_unreachable_slack_and_a_missing_signing_secret_fail(gateway_env: dict[str, str]) -> None:
    unreachable = run_check(
        {
            **gateway_env,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": "s",
            "SLACK_API_URL": "http://127.0.0.1:9/api/",
        }
    )
    assert unreachable.returncode == 1
    assert "unreachable" in row(unreachable.stdout, "slack")
    unsigned = run_check({**gateway_env, "SLACK_BOT_TOKEN": BOT_TOKEN})
    assert unsigned.returncode == 1
    assert "SLACK_SIGNING_SECRET" in row(unsigned.stdout, "slack")


def test_slack_off_is_fine(gateway_env: dict[str, str]) -> None:
    result = run_check(gateway_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "off" in row(result.stdout, "slack")


def test_every_hook_secret_named_in_the_config_must_be_set(
    gateway_env: dict[str, str], tmp_path: Path
) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text(HOOKS_TOML)
    env = {**gateway_env, "GATEWAY_CONFIG": str(config), "CHECK_TEST_LEAD_TOKEN": "tok-value-1"}
    missing = run_check(env)
    assert missing.returncode == 1
    assert "FAIL" in row(missing.stdout, "hook new-lead")
    assert "not set: CHECK_TEST_LEAD_WHSEC" in missing.stdout
    assert "tok-value-1" not in missing.stdout
    assert "no secrets named" in row(missing.stdout, "hook open")

    complete = run_check({**env, "CHECK_TEST_LEAD_WHSEC": "whsec_dmFsdWU="})
    assert complete.returncode == 0, complete.stdout + complete.stderr
    assert "secrets present: CHECK_TEST_LEAD_TOKEN, CHECK_TEST_LEAD_WHSEC" in complete.stdout
    assert "whsec_dmFsdWU=" not in complete.stdout
