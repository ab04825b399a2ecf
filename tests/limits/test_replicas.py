"""Two `serve` replicas on one PostgreSQL database enforce one shared daily limit: of 24
concurrent hook requests spread over both, exactly the limit start calls upstream."""

from __future__ import annotations

import contextlib
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.calls.harness import (
    HOOK_TOKEN,
    SIM_KEY,
    create_agent,
    hook_toml,
    remote_env,
    simulator_process,
)
from tests.support.servers import GatewayProcess

LIMIT = 5
REQUESTS = 24

pytestmark = pytest.mark.postgres


def upstream_starts(sim_url: str) -> int:
    stats = httpx.get(
        sim_url + "/_sim/stats", headers={"Authorization": f"Bearer {SIM_KEY}"}, timeout=10
    ).json()
    return int(stats["by_endpoint"].get("POST /v1/calls/web", 0))


@pytest.mark.timeout(120)
def test_two_replicas_share_one_daily_limit(
    tmp_path: Path, gateway_env: dict[str, str], postgres_url: str
) -> None:
    sim = simulator_process(tmp_path).start(ready_path="/")
    try:
        config = tmp_path / "gateway.toml"
        config.write_text(
            hook_toml(agent=create_agent(sim.url), callbacks=[])
            + f"\n[limits]\ncalls_per_hook_per_day = {LIMIT}\n"
        )
        env = remote_env(
            {**gateway_env, "DATABASE_URL": postgres_url},
            sim_url=sim.url,
            config_path=config,
            secrets={},
        )
        with contextlib.ExitStack() as stack:
            replicas = []
            for index in range(2):
                proc = GatewayProcess(env, log_path=tmp_path / f"replica-{index}.log")
                stack.callback(proc.stop)
                replicas.append(proc.start())

            def post(index: int) -> httpx.Response:
                url = f"{replicas[index % 2].url}/hooks/crm"
                auth = {"Authorization": f"Bearer {HOOK_TOKEN}"}
                return httpx.post(url, json={"n": index}, headers=auth, timeout=30)

            with ThreadPoolExecutor(max_workers=REQUESTS) as pool:
                answers = list(pool.map(post, range(REQUESTS)))

            statuses = Counter(a.status_code for a in answers)
            assert statuses == {202: LIMIT, 429: REQUESTS - LIMIT}, statuses
            refused = [a for a in answers if a.status_code == 429]
            assert {a.json()["error"]["code"] for a in refused} == {"limit_reached"}
            assert all(int(a.headers["Retry-After"]) >= 1 for a in refused)
            # Both replicas refused (the count is shared, not per process) …
            by_replica = Counter(i % 2 for i, a in enumerate(answers) if a.status_code == 429)
            assert set(by_replica) == {0, 1}
            # … and only the allowed calls reached OneInbox.
            assert upstream_starts(sim.url) == LIMIT
            # A replica that starts afterwards (a restart) sees the same count.
            late = GatewayProcess(env, log_path=tmp_path / "replica-late.log")
            stack.callback(late.stop)
            late.start()
            again = httpx.post(
                f"{late.url}/hooks/crm",
                json={},
                headers={"Authorization": f"Bearer {HOOK_TOKEN}"},
                timeout=30,
            )
            assert again.status_code == 429
    finally:
        sim.stop()
