"""Three `serve` replicas on one PostgreSQL database: each result is delivered by exactly one
replica, with no duplicate webhook-id at all when no process dies."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa

from gateway.store.database import Database
from gateway.store.tables import CallRow, DeliveryAttemptRow
from tests.calls.harness import (
    create_agent,
    end_calls,
    hook_toml,
    remote_env,
    simulator_process,
    start_calls,
    wait_for_results,
)
from tests.support.receiver import CallbackReceiver
from tests.support.servers import GatewayProcess, free_port, serve_app, wait_until

CALLS = 300
REPLICAS = 3

pytestmark = pytest.mark.postgres


async def delivery_report(database_url: str) -> tuple[Counter[str], Counter[str], Counter[str]]:
    """(calls per state, successful tries per delivery id, successful tries per worker)."""
    db = Database(database_url)
    try:
        async with db.session() as session:
            by_state = sa.select(CallRow.state, sa.func.count()).group_by(CallRow.state)
            states = Counter({s: int(n) for s, n in (await session.execute(by_state)).all()})
            ok = sa.select(DeliveryAttemptRow).where(DeliveryAttemptRow.status_code == 200)
            rows = (await session.execute(ok)).scalars().all()
        return (
            states,
            Counter(r.delivery_id for r in rows),
            Counter(str(r.worker) for r in rows),
        )
    finally:
        await db.dispose()


@pytest.mark.timeout(170)
def test_three_replicas_deliver_each_result_exactly_once(
    tmp_path: Path, gateway_env: dict[str, str], postgres_url: str
) -> None:
    receiver = CallbackReceiver()
    sim = simulator_process(tmp_path, "--analysis-delay", "0.3").start(ready_path="/")
    try:
        with serve_app(receiver.app) as rx, contextlib.ExitStack() as stack:
            config = tmp_path / "gateway.toml"
            config.write_text(
                hook_toml(
                    agent=create_agent(sim.url),
                    callbacks=[(rx.url + "/hook", "TEST_RECEIVER_SECRET")],
                )
            )
            ports = [free_port() for _ in range(REPLICAS)]
            # One public URL, as behind a load balancer: OneInbox gets one webhook, its
            # hints reach one replica, and the others see them in the store.
            shared = {
                "DATABASE_URL": postgres_url,
                "PUBLIC_BASE_URL": f"http://127.0.0.1:{ports[0]}",
            }
            env = remote_env(
                {**gateway_env, **shared},
                sim_url=sim.url,
                config_path=config,
                secrets={"TEST_RECEIVER_SECRET": receiver.secret},
            )
            replicas = [
                GatewayProcess(env, port=port, log_path=tmp_path / f"gateway-{n}.log")
                for n, port in enumerate(ports)
            ]
            for replica in replicas:
                stack.callback(replica.stop)
            with ThreadPoolExecutor(REPLICAS) as pool:
                list(pool.map(lambda r: r.start(timeout=60), replicas))
                shares = pool.map(lambda r: start_calls(r.url, CALLS // REPLICAS), replicas)
                call_ids = [call_id for share in shares for call_id in share]
            end_calls(sim.url, call_ids)
            wait_for_results(receiver, call_ids, timeout=90)
            _, successes, workers = wait_until(
                lambda: (
                    (r := asyncio.run(delivery_report(postgres_url)))[0].get("delivered") == CALLS
                    and r
                ),
                timeout=30,
                what="every call delivered",
            )
    finally:
        sim.stop()

    assert receiver.duplicates() == 0
    assert len(receiver.accepted()) == CALLS
    assert all(p.verified for p in receiver.all())
    # A try that failed before reaching the receiver (a dropped connection) may be retried,
    # by any replica; what must never happen is a second successful try.
    assert set(successes.values()) == {1}, "a delivery succeeded twice"
    assert len(successes) == CALLS
    print(f"\nreplicas: deliveries per worker {dict(workers)}")
    assert len(workers) >= 2, "one replica did all the work; the test proves little"
