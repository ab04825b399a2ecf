"""Kill -9 the gateway twice while results are being delivered: every result still arrives,
and no webhook-id is ever delivered with two different bodies."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

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
from tests.support.servers import GatewayProcess, free_port, serve_app, wait_until

CALLS = 50


async def states(database_url: str, call_ids: list[str]) -> dict[str, tuple[str, list[str]]]:
    db = Database(database_url)
    try:
        async with db.session() as session:
            out: dict[str, tuple[str, list[str]]] = {}
            for call_id in call_ids:
                row = await session.get(CallRow, call_id)
                assert row is not None
                deliveries = await DeliveryRepository(session).for_call(call_id)
                out[call_id] = (row.state, [d.state for d in deliveries])
            return out
    finally:
        await db.dispose()


@pytest.mark.timeout(150)
def test_results_survive_two_kill_9s_during_delivery(
    tmp_path: Path, gateway_env: dict[str, str]
) -> None:
    receiver = CallbackReceiver(delay=0.8)  # slow, so deliveries are in flight when killed
    sim = simulator_process(tmp_path, "--analysis-delay", "0.3").start(ready_path="/")
    port = free_port()
    gateways: list[GatewayProcess] = []

    def boot() -> GatewayProcess:
        proc = GatewayProcess(env, port=port, log_path=tmp_path / "gateway.log").start()
        gateways.append(proc)
        return proc

    try:
        with serve_app(receiver.app) as rx:
            config = tmp_path / "gateway.toml"
            config.write_text(
                hook_toml(
                    agent=create_agent(sim.url),
                    callbacks=[(rx.url + "/hook", "TEST_RECEIVER_SECRET")],
                )
            )
            env = remote_env(
                gateway_env,
                sim_url=sim.url,
                config_path=config,
                secrets={"TEST_RECEIVER_SECRET": receiver.secret},
            )
            gateway = boot()
            call_ids = start_calls(gateway.url, CALLS)
            end_calls(sim.url, call_ids)

            wait_until(lambda: receiver.arrivals >= 1, timeout=30, what="first delivery")
            gateway.kill()
            first_kill_at = receiver.arrivals
            assert len(receiver.accepted_call_ids()) < CALLS, "all delivered before the kill"

            gateway = boot()
            wait_until(
                lambda: receiver.arrivals > first_kill_at, timeout=30, what="deliveries resume"
            )
            gateway.kill()
            assert len(receiver.accepted_call_ids()) < CALLS, "all delivered before kill two"

            gateway = boot()
            wait_for_results(receiver, call_ids, timeout=60)
            database_url = env["DATABASE_URL"]
            wait_until(
                lambda: all(
                    s == "delivered"
                    for s, _ in asyncio.run(states(database_url, call_ids)).values()
                ),
                timeout=20,
                what="every call delivered",
            )
    finally:
        for proc in gateways:
            proc.stop()
        sim.stop()

    posts = receiver.all()
    assert all(p.verified for p in posts)
    bodies = receiver.bodies_by_id()
    assert len(bodies) == CALLS
    assert all(len(variants) == 1 for variants in bodies.values()), "an id with two bodies"
    print(
        f"\ncrash test: {len(posts)} POSTs for {CALLS} results, {receiver.duplicates()} duplicates"
    )


@pytest.mark.timeout(120)
def test_sigterm_finishes_deliveries_in_flight_and_loses_nothing(
    tmp_path: Path, gateway_env: dict[str, str]
) -> None:
    receiver = CallbackReceiver(delay=1.5)
    sim = simulator_process(tmp_path, "--analysis-delay", "0.2").start(ready_path="/")
    port = free_port()
    gateways: list[GatewayProcess] = []
    try:
        with serve_app(receiver.app) as rx:
            config = tmp_path / "gateway.toml"
            config.write_text(
                hook_toml(
                    agent=create_agent(sim.url),
                    callbacks=[(rx.url + "/hook", "TEST_RECEIVER_SECRET")],
                )
            )
            env = remote_env(
                gateway_env,
                sim_url=sim.url,
                config_path=config,
                secrets={"TEST_RECEIVER_SECRET": receiver.secret},
            )
            log = tmp_path / "gateway.log"
            gateway = GatewayProcess(env, port=port, log_path=log).start()
            gateways.append(gateway)
            call_ids = start_calls(gateway.url, 10)
            end_calls(sim.url, call_ids)
            wait_until(lambda: receiver.arrivals >= 1, timeout=30, what="a delivery in flight")
            in_flight = receiver.arrivals - len(receiver.all())
            gateway.stop()  # SIGTERM
            # uvicorn re-raises SIGTERM after its graceful shutdown, so look at the log.
            assert '"gateway.stopped"' in log.read_text()
            answered_before_restart = set(receiver.accepted_call_ids())

            gateway = GatewayProcess(env, port=port, log_path=log).start()
            gateways.append(gateway)
            wait_for_results(receiver, call_ids, timeout=60)
    finally:
        for proc in gateways:
            proc.stop()
        sim.stop()

    assert in_flight >= 1
    assert len(answered_before_restart) >= in_flight  # finished, not abandoned
    assert receiver.duplicates() == 0  # a clean stop re-sends nothing
    assert "outbox.stopped_with_unfinished" not in log.read_text()
