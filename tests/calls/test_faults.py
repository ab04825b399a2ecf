"""An unreliable OneInbox (20 % 5xx, some 429s) and unreliable receivers: everything is
delivered within the schedule, and a receiver that answers 410 only disables itself."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from gateway.calls.webhooks import webhook_token
from gateway.store.database import Database
from gateway.store.deliveries import DeliveryRepository
from gateway.store.tables import CallRow
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
from tests.support.servers import gateway_process, serve_app, wait_until

CALLS = 20


async def snapshot(database_url: str, call_ids: list[str]) -> dict[str, dict[str, object]]:
    db = Database(database_url)
    try:
        async with db.session() as session:
            out: dict[str, dict[str, object]] = {}
            for call_id in call_ids:
                row = await session.get(CallRow, call_id)
                assert row is not None
                deliveries = await DeliveryRepository(session).for_call(call_id)
                out[call_id] = {
                    "state": row.state,
                    "deliveries": {
                        d.config["url"]: (d.state, d.attempts, d.last_status) for d in deliveries
                    },
                }
            return out
    finally:
        await db.dispose()


@pytest.mark.timeout(150)
def test_faulty_upstream_and_receivers_still_deliver_and_410_disables_only_itself(
    tmp_path: Path, gateway_env: dict[str, str]
) -> None:
    flaky = CallbackReceiver(fail_first=2)
    gone = CallbackReceiver(gone=True)
    sim = simulator_process(tmp_path, "--analysis-delay", "0.3").start(ready_path="/")
    try:
        with serve_app(flaky.app) as rx_flaky, serve_app(gone.app) as rx_gone:
            config = tmp_path / "gateway.toml"
            flaky_url, gone_url = rx_flaky.url + "/hook", rx_gone.url + "/hook"
            config.write_text(
                hook_toml(
                    agent=create_agent(sim.url),
                    callbacks=[(flaky_url, "FLAKY_SECRET"), (gone_url, "GONE_SECRET")],
                )
            )
            env = remote_env(
                gateway_env,
                sim_url=sim.url,
                config_path=config,
                secrets={"FLAKY_SECRET": flaky.secret, "GONE_SECRET": gone.secret},
            )
            with gateway_process(env, log_path=tmp_path / "gateway.log") as gateway:
                call_ids = start_calls(gateway.url, CALLS)
                faults = {"error_rate_5xx": 0.2, "rate_429": 0.15, "retry_after_seconds": 0.2}
                assert httpx.patch(sim.url + "/_sim/config", json=faults).status_code == 200
                end_calls(sim.url, call_ids)
                wait_for_results(flaky, call_ids, timeout=60)
                database_url = env["DATABASE_URL"]
                final = wait_until(
                    lambda: (
                        (s := asyncio.run(snapshot(database_url, call_ids)))
                        and all(v["state"] == "delivered" for v in s.values())
                        and s
                    ),
                    timeout=30,
                    what="every call delivered",
                )
                stats = httpx.get(sim.url + "/_sim/stats").json()
    finally:
        sim.stop()

    log = (tmp_path / "gateway.log").read_text()
    token = webhook_token(env["GATEWAY_SECRET_KEY"].encode())
    for secret in (token, flaky.secret, gone.secret, env["ONEINBOX_API_KEY"]):
        assert secret not in log
    answered = stats["by_status"]["GET /v1/calls/{id}"]
    assert any(code.startswith("5") for code in answered), "no 5xx was injected"
    assert "429" in answered, "no 429 was injected"
    for call_id in call_ids:
        deliveries = final[call_id]["deliveries"]
        assert deliveries[flaky_url] == ("delivered", 3, 200)
        assert deliveries[gone_url] == ("disabled", 1, 410)
    assert flaky.accepted_call_ids() == set(call_ids)
    assert all(r.verified for r in flaky.all() + gone.all())
    assert len(gone.all()) == CALLS  # one try each, never again
    assert all(len(v) == 1 for v in flaky.bodies_by_id().values())
