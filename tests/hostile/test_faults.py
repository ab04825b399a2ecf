"""Faults: a slow upstream, a lost upstream, a full disk, an unwritable data directory."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gateway.app import create_app
from gateway.logging import configure_logging
from gateway.settings import load_settings
from gateway.simulator import create_simulator_app
from gateway.upstream import SIMULATOR_MOUNT
from tests.hostile.rig import ADMIN, BEARER, SECRETS, Rig, error_body
from tests.support.servers import GatewayProcess, ServerThread, serve_app, wait_until

BODY = json.dumps({"firstname": "Ada"}).encode()


@pytest.fixture
def rate_limited(rig: Rig) -> Iterator[Rig]:
    """OneInbox answers every request 429 with `Retry-After: 120` while the test runs."""
    config = SIMULATOR_MOUNT + "/_sim/config"
    changed = rig.request(
        "PATCH", config, json={"rate_429": 1.0, "retry_after_seconds": 120}, headers=ADMIN
    )
    assert changed.status_code == 200, changed.text
    try:
        yield rig
    finally:
        rig.request("PATCH", config, json={"rate_429": 0.0}, headers=ADMIN)


def test_retry_after_past_the_deadline_is_a_503_and_the_key_stays_usable(
    rate_limited: Rig,
) -> None:
    rig = rate_limited
    headers = {**BEARER, "Content-Type": "application/json", "Idempotency-Key": "slow-upstream"}
    before = rig.rows()
    # The client's own timeout (30 s) is far below the 120 s OneInbox asks for.
    answer = rig.request("POST", "/hooks/plain", content=BODY, headers=headers)
    error = error_body(answer, 503)
    assert error["code"] == "upstream_rate_limited"
    assert answer.headers["retry-after"] == "120"
    assert rig.rows() == before  # no call, and the key was given back
    rig.request("PATCH", SIMULATOR_MOUNT + "/_sim/config", json={"rate_429": 0.0}, headers=ADMIN)
    retried = rig.request("POST", "/hooks/plain", content=BODY, headers=headers)
    assert retried.status_code == 202, retried.text
    rig.assert_no_secret(rig.logs())


def test_the_admin_api_keeps_the_same_deadline_as_hooks(rate_limited: Rig) -> None:
    rig = rate_limited
    headers = {**ADMIN, "Content-Type": "application/json"}
    before = rig.rows()
    # Without the deadline the client would wait out OneInbox's 120 s (and time out at 30 s).
    answer = rig.request("POST", "/api/calls", json={"agent": "sales"}, headers=headers)
    error = error_body(answer, 503)
    assert error["code"] == "upstream_rate_limited"
    assert answer.headers["retry-after"] == "120"
    assert rig.rows() == before  # nothing started, nothing stored
    rig.request("PATCH", SIMULATOR_MOUNT + "/_sim/config", json={"rate_429": 0.0}, headers=ADMIN)
    retried = rig.request("POST", "/api/calls", json={"agent": "sales"}, headers=headers)
    assert retried.status_code == 201, retried.text
    rig.assert_no_secret(rig.logs())


def test_readyz_fails_while_oneinbox_is_unreachable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    simulator = ServerThread(create_simulator_app(), lifespan="off").start()
    try:
        settings = load_settings(
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}",
            data_dir=tmp_path / "data",
            oneinbox_api_key="oi_sk_readyz_test_key",
            oneinbox_base_url=simulator.url,
            gateway_secret_key="readyz-secret-key-0123456789",
            gateway_config=None,
        )
        configure_logging(fmt="json", level="debug", secrets=settings.secret_values())
        with serve_app(create_app(settings)) as gateway:
            ready = httpx.get(gateway.url + "/readyz", timeout=10)
            assert ready.status_code == 200 and ready.json()["oneinbox"] == "ok", ready.text
            simulator.stop()

            def unready() -> bool:
                answer = httpx.get(gateway.url + "/readyz", timeout=10)
                return answer.status_code == 503 and answer.json()["oneinbox"] == "unreachable"

            wait_until(unready, timeout=20, what="/readyz to see OneInbox gone")
    finally:
        simulator.stop()
    logs = capsys.readouterr().err
    assert "oi_sk_readyz_test_key" not in logs and "readyz-secret-key" not in logs


HOOKS = """
[agents.sales]
create = { first_message = "Hi!" }

[hooks.plain]
agent = "sales"
auth = { scheme = "bearer", token_env = "LEAD_TOKEN" }
"""


def test_a_full_disk_fails_readyz_and_answers_503_not_500(tmp_path: Path) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text(HOOKS)
    env = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}",
        "DATA_DIR": str(tmp_path / "data"),
        "GATEWAY_SECRET_KEY": "full-disk-secret-key-0123456789",
        "GATEWAY_CONFIG": str(config),
        "LEAD_TOKEN": BEARER["Authorization"].removeprefix("Bearer "),
        "LOG_FORMAT": "json",
    }
    gateway = GatewayProcess(env)  # output to /dev/null: the file limit below spares it
    try:
        gateway.start(ready_path="/readyz")
        assert gateway.proc is not None
        # Every write past 4 KiB of any file fails with EFBIG, as on a full disk: each commit
        # appends a page of 4 KiB to the write-ahead log.
        resource.prlimit(gateway.proc.pid, resource.RLIMIT_FSIZE, (4096, 4096))

        def unready() -> bool:
            answer = httpx.get(gateway.url + "/readyz", timeout=10)
            return answer.status_code == 503 and answer.json()["store"] == "not_writable"

        wait_until(unready, timeout=20, what="/readyz to see the store unwritable")
        headers = {**BEARER, "Content-Type": "application/json", "Idempotency-Key": "disk"}
        answer = httpx.post(gateway.url + "/hooks/plain", content=BODY, headers=headers, timeout=30)
        error = error_body(answer, 503)
        assert error["code"] == "store_unavailable"
        assert answer.headers["retry-after"]
        assert httpx.get(gateway.url + "/healthz", timeout=10).status_code == 200
    finally:
        gateway.stop()


def _serve(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("ONEINBOX_", "SLACK_"))}
    clean.pop("GATEWAY_SECRET_KEY", None)
    return subprocess.run(
        [sys.executable, "-m", "gateway", "serve", "--port", "0"],
        env={**clean, "LOG_FORMAT": "json", **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("setting", "where", "reason"),
    [
        ("DATA_DIR", "a-file/data", "Not a directory"),
        ("DATABASE_URL", "a-file/gateway.db", "Not a directory"),
        ("DATABASE_URL", "a-directory", "Is a directory"),
        ("DATABASE_URL", "/proc/no-such-gateway/gateway.db", "No such file or directory"),
    ],
)
def test_an_unwritable_data_directory_or_database_is_one_line_at_start(
    tmp_path: Path, setting: str, where: str, reason: str
) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    (tmp_path / "a-directory").mkdir()
    path = where if where.startswith("/") else str(tmp_path / where)
    env = {"DATA_DIR": str(tmp_path / "data")}
    if setting == "DATA_DIR":
        env["DATA_DIR"] = path
    else:
        env["DATABASE_URL"] = f"sqlite+aiosqlite:///{path}"
        env["GATEWAY_SECRET_KEY"] = "start-up-secret-key-0123456789"
    result = _serve(env, tmp_path)
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {setting} ") and reason in lines[0]
    assert "Traceback" not in result.stderr
    for secret in SECRETS:
        assert secret not in result.stderr
