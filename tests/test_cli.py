"""The command line: bad settings stop start-up with one line; `check` says what is wrong."""

from __future__ import annotations

import json
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


def test_serve_prints_the_banner_as_one_block_after_the_start_up_logs(
    gateway_env: dict[str, str], tmp_path: object
) -> None:
    """Nothing cuts the banner; it names the real store and data dir; static files are
    labelled by their mount's template in logs and metrics."""
    from pathlib import Path

    tmp = Path(str(tmp_path))
    (tmp / "store").mkdir()
    database = tmp / "store" / "calls.db"
    env = {
        **gateway_env,
        "DATA_DIR": str(tmp / "elsewhere"),
        "DATABASE_URL": f"sqlite+aiosqlite:///{database}",
    }
    log = tmp / "gateway.log"
    with gateway_process(env, log_path=log) as gateway:
        assert httpx.get(gateway.url + "/join/static/join.js").status_code == 200
        assert httpx.get(gateway.url + "/join/static/nothing.js").status_code == 404
        metrics = httpx.get(gateway.url + "/metrics").text
    lines = log.read_text().splitlines()
    start = lines.index("OneInbox Gateway")
    end = lines.index("", start)
    block, before = lines[start:end], lines[:start]
    assert not any(line.startswith("{") for line in block), block
    events = [json.loads(line)["event"] for line in before if line.startswith("{")]
    assert "gateway.started" in events and "store.migrated" in events
    assert any(event.startswith("Uvicorn running on") for event in events)
    assert f"  database      SQLite {database}" in block
    assert f"  data dir      {tmp / 'elsewhere'}" in block
    assert any("curl -sS -X POST" in line and "/hooks/demo " in line for line in block)
    assert "./data" not in log.read_text()
    # Start-up log lines stay short (one used to be 2.6 KB).
    assert max(len(line) for line in before) < 400
    routes = [json.loads(x)["route"] for x in lines if '"http.request"' in x]
    assert routes.count("/join/static/{path}") == 2
    assert 'route="/join/static/{path}"' in metrics
    assert "/join/static/join/static" not in metrics + log.read_text()
