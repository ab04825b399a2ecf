"""Two `serve` replicas on one PostgreSQL database, a real receiver that fails: the
destination is disabled once (one alert across both), later results are held and never
tried, and `oneinbox-gateway destinations enable` sends them all. Time is made short by
settings (`DESTINATION_DISABLE_AFTER_SECONDS`, `DELIVERY_SCHEDULE_SCALE`)."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.delivery.signing import key_fingerprint
from gateway.store.tables import EndpointRow
from tests.calls.harness import (
    create_agent,
    end_calls,
    hook_toml,
    read_store,
    remote_env,
    simulator_process,
    start_calls,
)
from tests.support.gateway import run_in_store
from tests.support.receiver import CallbackReceiver
from tests.support.servers import GatewayProcess, serve_app, wait_until

pytestmark = pytest.mark.postgres
SECRET_ENV = "REPLICA_RECEIVER_WHSEC"


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def disabled_endpoints(database_url: str) -> int:
    """Endpoints the store holds disabled (read directly: polling with the CLI started a
    process every half second while the replicas worked)."""

    async def count(session: AsyncSession) -> int:
        query = sa.select(sa.func.count()).where(EndpointRow.disabled_at.is_not(None))
        return int((await session.execute(query)).scalar_one())

    return run_in_store(database_url, count)


def log_events(paths: list[Path], event: str) -> list[dict[str, Any]]:
    found = []
    for path in paths:
        for line in path.read_text().splitlines():
            if line.startswith("{") and json.loads(line).get("event") == event:
                found.append(json.loads(line))
    return found


@pytest.mark.timeout(180)
def test_two_replicas_disable_a_failing_destination_once_and_enable_sends_what_was_held(
    tmp_path: Path, gateway_env: dict[str, str], postgres_url: str
) -> None:
    rx = CallbackReceiver(failing=True)
    sim = simulator_process(tmp_path).start(ready_path="/")
    with serve_app(rx.app) as receiver, contextlib.ExitStack() as stack:
        stack.callback(sim.stop)
        url = receiver.url + "/hook"
        config = tmp_path / "gateway.toml"
        config.write_text(hook_toml(agent=create_agent(sim.url), callbacks=[(url, SECRET_ENV)]))
        env = remote_env(
            {**gateway_env, "DATABASE_URL": postgres_url},
            sim_url=sim.url,
            config_path=config,
            secrets={SECRET_ENV: rx.secret},
        )
        env |= {"DESTINATION_DISABLE_AFTER_SECONDS": "1", "DELIVERY_SCHEDULE_SCALE": "0.0005"}
        logs = [tmp_path / f"replica-{i}.log" for i in range(2)]
        replicas = []
        for path in logs:
            proc = GatewayProcess(env, log_path=path)
            stack.callback(proc.stop)
            replicas.append(proc.start(timeout=90))
        cli_env = {**env, "LOG_LEVEL": "warning"}

        first = start_calls(replicas[0].url, 2) + start_calls(replicas[1].url, 2)
        end_calls(sim.url, first)
        wait_until(
            lambda: disabled_endpoints(postgres_url),
            timeout=60,
            interval=0.2,
            what="the destination to be disabled",
        )
        listed = cli(cli_env, "destinations", "list")
        assert listed.returncode == 0, listed.stderr
        (line,) = [x for x in listed.stdout.splitlines() if "disabled" in x]
        destination_id = line.split()[0]
        assert url in line

        def all_held(call_ids: list[str]) -> bool:
            states = [read_store(postgres_url, c)["deliveries"] for c in call_ids]
            return all(d and d[0].state == "held" for d in states)

        wait_until(lambda: all_held(first), timeout=30, what="every result held")
        tried = len(rx.all())
        second = start_calls(replicas[1].url, 2)
        end_calls(sim.url, second)
        wait_until(lambda: all_held(second), timeout=30, what="new results queued held")
        assert len(rx.all()) == tried  # held results are not tried
        # One replica disabled it, and said so once.
        (alert,) = log_events(logs, "destination.disabled")
        assert alert["level"] == "error" and alert["endpoint_id"] == destination_id
        assert rx.secret not in "".join(p.read_text() for p in logs)

        failing_test = cli(cli_env, "destinations", "test", destination_id)
        assert failing_test.returncode == 1 and "503" in failing_test.stdout

        rx.failing = False
        passing_test = cli(
            cli_env, "destinations", "test", "--url", url, "--secret-env", SECRET_ENV
        )
        assert passing_test.returncode == 0, passing_test.stdout + passing_test.stderr
        assert key_fingerprint(rx.secret) in passing_test.stdout

        enabled = cli(cli_env, "destinations", "enable", destination_id)
        assert enabled.returncode == 0, enabled.stderr
        assert "6 held deliveries are due now" in enabled.stdout
        everything = set(first + second)
        wait_until(
            lambda: everything <= rx.accepted_call_ids(), timeout=60, what="every held result"
        )
        assert rx.duplicates() == 0
        shown = cli(cli_env, "deliveries", "list")
        assert key_fingerprint(rx.secret) in shown.stdout  # SIGNED BY
        assert "disabled" not in cli(cli_env, "destinations", "list").stdout
        unknown = cli(cli_env, "destinations", "enable", "dst_nope")
        assert unknown.returncode == 1 and "unknown destination" in unknown.stderr
