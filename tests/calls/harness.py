"""Running gateways for the tracking and delivery tests: in-process (uvicorn thread, local
mode) for the quick tests, real `serve` processes against a simulator process for the
crash, replica and fault tests. Calls are started through a configured hook, as a CRM would."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from gateway.context import AppContext
from gateway.upstream import SIMULATOR_MOUNT
from tests.support.gateway import RunningGateway, running_gateway
from tests.support.servers import GatewayProcess, wait_until

HOOK_TOKEN = "hook-token-for-tests-" + "x" * 8
SIM_KEY = "oi_sk_test"


def hook_toml(
    *,
    agent: str,
    callbacks: list[tuple[str, str | None]],
) -> str:
    """A config with agent `tester` and hook `crm` notifying each (url, secret_env)."""
    if agent.startswith("agt_"):
        agent_table = f'[agents.tester]\nid = "{agent}"\n'
    else:
        agent_table = '[agents.tester]\ncreate = { first_message = "Hello from the tests" }\n'
    notify = ", ".join(
        "{ "
        + f"callback_url = {json.dumps(url)}"
        + (f", secret_env = {json.dumps(env)}" if env else "")
        + " }"
        for url, env in callbacks
    )
    return (
        agent_table
        + "\n[hooks.crm]\n"
        + 'auth = { scheme = "bearer", token_env = "TEST_HOOK_TOKEN" }\n'
        + 'agent = "tester"\n'
        + f"notify = [{notify}]\n"
    )


class LocalGateway:
    """A local-mode gateway (simulator in-process) served on loopback by uvicorn."""

    def __init__(self, running: RunningGateway) -> None:
        self.running = running
        self.server = running.server
        self.app = running.app
        self.url = running.url
        self.sim = running.url + SIMULATOR_MOUNT

    @property
    def ctx(self) -> AppContext:
        return self.running.ctx

    def start_call(self, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = httpx.post(
            self.url + "/hooks/crm",
            json=body or {},
            headers={"Authorization": f"Bearer {HOOK_TOKEN}"},
            timeout=10,
        )
        assert response.status_code == 202, response.text
        return dict(response.json())

    def end_call(self, call_id: str, **script: Any) -> None:
        response = httpx.post(f"{self.sim}/_sim/calls/{call_id}/end", json=script, timeout=10)
        assert response.status_code == 200, response.text

    def join_call(self, call_id: str) -> None:
        response = httpx.post(f"{self.sim}/_sim/calls/{call_id}/join", timeout=10)
        assert response.status_code == 200, response.text

    def sim_config(self, **changes: Any) -> None:
        response = httpx.patch(f"{self.sim}/_sim/config", json=changes, timeout=10)
        assert response.status_code == 200, response.text

    def sim_webhooks(self) -> list[dict[str, Any]]:
        response = httpx.get(
            f"{self.sim}/v1/webhooks", headers={"Authorization": f"Bearer {SIM_KEY}"}, timeout=10
        )
        return list(response.json())


@contextlib.contextmanager
def local_gateway(tmp_path: Path, config_toml: str, **overrides: Any) -> Iterator[LocalGateway]:
    """A local-mode gateway whose data lives in `tmp_path`; stopped even on failure.

    The caller sets TEST_HOOK_TOKEN (and any receiver secret) in the environment.
    """
    values: dict[str, Any] = {"callback_allow_private": True, **overrides}
    with running_gateway(tmp_path, toml=config_toml, **values) as running:
        yield LocalGateway(running)


def simulator_process(tmp_path: Path, *args: str) -> GatewayProcess:
    """`python -m gateway simulate` on a free port (start() it, stop() it).

    Its analysis is ready 0.3 s after a call ends unless `args` say otherwise (the CLI's
    default, 2 s, would only make every test that waits for a result wait longer).
    """
    if "--analysis-delay" not in args:
        args = ("--analysis-delay", "0.3", *args)
    proc = GatewayProcess(
        {"LOG_FORMAT": "json", "LOG_LEVEL": "warning"},
        log_path=tmp_path / "simulator.log",
    )
    proc.args = ["simulate", "--host", "127.0.0.1", "--port", str(proc.port), *args]
    return proc


def create_agent(sim_url: str) -> str:
    """An agent in the simulator process; its id."""
    response = httpx.post(
        sim_url + "/v1/agents",
        json={"name": "tester-" + uuid.uuid4().hex[:6]},
        headers={"Authorization": f"Bearer {SIM_KEY}"},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def start_calls(gateway_url: str, count: int) -> list[str]:
    """`count` calls started through the `crm` hook; their ids."""
    ids: list[str] = []
    with httpx.Client(timeout=15) as client:
        for _ in range(count):
            response = client.post(
                gateway_url + "/hooks/crm",
                json={},
                headers={"Authorization": f"Bearer {HOOK_TOKEN}"},
            )
            assert response.status_code == 202, response.text
            ids.append(str(response.json()["call_id"]))
    return ids


def end_calls(sim_url: str, call_ids: list[str]) -> None:
    with httpx.Client(timeout=15) as client:
        for call_id in call_ids:
            response = client.post(f"{sim_url}/_sim/calls/{call_id}/end", json={})
            assert response.status_code == 200, response.text


def wait_for_results(receiver: Any, call_ids: list[str], timeout: float) -> None:
    wanted = set(call_ids)
    wait_until(
        lambda: wanted <= receiver.accepted_call_ids(),
        timeout=timeout,
        interval=0.1,
        what=f"results of {len(wanted)} calls",
    )


def remote_env(
    base: dict[str, str], *, sim_url: str, config_path: Path, secrets: dict[str, str]
) -> dict[str, str]:
    """Environment of a `serve` process against a simulator process, tuned for fast tests."""
    return {
        **base,
        "ONEINBOX_API_KEY": SIM_KEY,
        "ONEINBOX_BASE_URL": sim_url,
        "GATEWAY_CONFIG": str(config_path),
        "TEST_HOOK_TOKEN": HOOK_TOKEN,
        "CALLBACK_ALLOW_PRIVATE": "true",
        "POLL_INTERVAL_SECONDS": "0.5",
        "POLL_BUDGET_PER_SECOND": "50",
        "DELIVERY_SCHEDULE_SCALE": "0.002",
        "LOG_LEVEL": "info",
        **secrets,
    }


def read_store(database_url: str, call_id: str) -> dict[str, Any]:
    """A call's row, events and deliveries, read with a connection of the test's own: a
    snapshot that takes no write lock (the gateway's writes never wait for the test)."""
    import asyncio

    from gateway.store.calls import CallRepository
    from gateway.store.database import Database
    from gateway.store.deliveries import DeliveryRepository

    async def read() -> dict[str, Any]:
        db = Database(database_url)
        try:
            async with db.read() as session:
                calls = CallRepository(session)
                row = await calls.get(call_id)
                assert row is not None
                events = [e.to_state for e in await calls.events(call_id)]
                deliveries = list(await DeliveryRepository(session).for_call(call_id))
                return {"call": row, "events": events, "deliveries": deliveries}
        finally:
            await db.dispose()

    return asyncio.run(read())
