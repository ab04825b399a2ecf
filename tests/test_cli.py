"""The command line: bad settings stop start-up with one line; `check` says what is wrong."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx

from gateway.simulator import SimulatorConfig, create_simulator_app
from tests.support.servers import gateway_process, serve_app

REAL_KEY = "oi_sk_the_right_key_0123456789"
WRONG_KEY = "oi_sk_a_wrong_key_9876543210"


def run_cli(
    *args: str, env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_an_invalid_database_url_stops_serve_with_one_line(gateway_env: dict[str, str]) -> None:
    result = run_cli("serve", "--port", "9", env={**gateway_env, "DATABASE_URL": "mysql://x/y"})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines == [
        "error: DATABASE_URL: must start with one of sqlite+aiosqlite://, postgresql+asyncpg://"
    ]


def test_an_unknown_log_format_stops_serve_with_one_line(gateway_env: dict[str, str]) -> None:
    result = run_cli("serve", "--port", "9", env={**gateway_env, "LOG_FORMAT": "xml"})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: LOG_FORMAT: Input should be 'json' or 'console'"
    ]


def test_check_with_a_wrong_api_key_fails_clearly_without_the_key(
    gateway_env: dict[str, str],
) -> None:
    simulator = create_simulator_app(SimulatorConfig(api_keys=[REAL_KEY]))
    with serve_app(simulator) as upstream:
        env = {**gateway_env, "ONEINBOX_API_KEY": WRONG_KEY, "ONEINBOX_BASE_URL": upstream.url}
        result = run_cli("check", env=env)
        assert result.returncode == 1
        output = result.stdout + result.stderr
        assert "oneinbox" in result.stdout and "FAIL" in result.stdout
        assert "ONEINBOX_API_KEY" in result.stdout
        assert WRONG_KEY not in output
        assert "store" in result.stdout

        good = run_cli("check", env={**env, "ONEINBOX_API_KEY": REAL_KEY})
        assert good.returncode == 0, good.stdout + good.stderr
        assert "FAIL" not in good.stdout
        assert REAL_KEY not in good.stdout + good.stderr


def test_check_fails_when_the_store_is_unreachable(gateway_env: dict[str, str]) -> None:
    env = {
        **gateway_env,
        "DATABASE_URL": "postgresql+asyncpg://nobody@127.0.0.1:9/none",
    }
    result = run_cli("check", env=env)
    assert result.returncode == 1
    assert any(line.startswith("store") and "FAIL" in line for line in result.stdout.splitlines())


def test_serve_in_local_mode_answers_health_and_says_local_mode(
    gateway_env: dict[str, str], tmp_path: object
) -> None:
    from pathlib import Path

    log = Path(str(tmp_path)) / "gateway.log"
    with gateway_process(gateway_env, log_path=log) as gateway:
        health = httpx.get(gateway.url + "/healthz").json()
        assert health == {"status": "ok", "local_mode": True}
        ready = httpx.get(gateway.url + "/readyz")
        assert ready.status_code == 200 and ready.json()["store"] == "ok"
        assert ready.headers["x-request-id"]
    banner = log.read_text()
    assert "LOCAL MODE" in banner
    assert f"{gateway.url}/healthz" in banner
