"""kill -9 of a real gateway between the CRM's create and its answer: after the restart the
write-back finds its own object, so the record still has exactly one; no secret is logged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.calls.harness import HOOK_TOKEN, create_agent, remote_env, simulator_process
from tests.support.crm_rig import read_delivery
from tests.support.fake_hubspot import FakeHubSpot
from tests.support.fake_pipedrive import FakePipedrive
from tests.support.servers import GatewayProcess, free_port, serve_app, wait_until


def config(agent: str, notify: str) -> str:
    return (
        f'[agents.tester]\nid = "{agent}"\n\n[hooks.crm]\n'
        'auth = { scheme = "bearer", token_env = "TEST_HOOK_TOKEN" }\n'
        f'agent = "tester"\nnotify = [{notify}]\n'
    )


CASES: dict[str, dict[str, Any]] = {
    "hubspot": {
        "notify": '{ hubspot_contact = "body.contact_id" }',
        "destination": "hubspot_contact",
    },
    "pipedrive": {
        "notify": '{ pipedrive_person = "body.contact_id", activity = true }',
        "destination": "pipedrive_person",
    },
}


@pytest.mark.timeout(150)
@pytest.mark.parametrize("crm", sorted(CASES))
def test_kill_9_between_the_crms_create_and_its_answer_leaves_one_object(
    tmp_path: Path, gateway_env: dict[str, str], crm: str
) -> None:
    case = CASES[crm]
    fake: FakeHubSpot | FakePipedrive
    if crm == "hubspot":
        fake = FakeHubSpot(index_lag=300.0)  # search cannot see the object: associations must
        fake.add_contact("51")
        secrets = {"HUBSPOT_ACCESS_TOKEN": fake.token}
        url_env = "HUBSPOT_API_URL"
    else:
        fake = FakePipedrive()
        fake.add_person(51, "Ada")
        secrets = {"PIPEDRIVE_API_TOKEN": fake.token}
        url_env = "PIPEDRIVE_API_URL"
    fake.hold_creates = True
    sim = simulator_process(tmp_path, "--analysis-delay", "0.2").start(ready_path="/")
    port = free_port()
    log = tmp_path / "gateway.log"
    gateways: list[GatewayProcess] = []
    try:
        with serve_app(fake.app) as api:
            path = tmp_path / "gateway.toml"
            path.write_text(config(create_agent(sim.url), case["notify"]))
            env = remote_env(
                gateway_env,
                sim_url=sim.url,
                config_path=path,
                secrets={**secrets, url_env: api.url},
            )
            env["LOG_LEVEL"] = "debug"
            gateway = GatewayProcess(env, port=port, log_path=log).start()
            gateways.append(gateway)
            response = httpx.post(
                gateway.url + "/hooks/crm",
                json={"contact_id": "51"},
                timeout=10,
                headers={"Authorization": f"Bearer {HOOK_TOKEN}"},
            )
            assert response.status_code == 202, response.text
            call_id = response.json()["call_id"]
            ended = httpx.post(f"{sim.url}/_sim/calls/{call_id}/end", json={}, timeout=10)
            assert ended.status_code == 200

            assert fake.held.wait(30), "the CRM never saw the create"
            gateway.kill()  # the object exists; the gateway never heard the answer
            fake.release()
            assert objects(fake) == 1

            gateway = GatewayProcess(env, port=port, log_path=log).start()
            gateways.append(gateway)
            done = wait_until(
                lambda: (
                    (d := read_delivery(env["DATABASE_URL"], call_id, case["destination"]))
                    and d.state in ("delivered", "dead")
                    and d
                ),
                timeout=60,
                what="the write-back settled after the restart",
            )
    finally:
        for proc in gateways:
            proc.stop()
        sim.stop()
    assert done.state == "delivered", done.last_error
    assert objects(fake) == 1, "a second object for one call"
    if isinstance(fake, FakePipedrive):
        assert len(fake.activities_of(51)) == 1
    text = log.read_text()
    assert "crm.earlier_write_found" in text  # the restarted gateway looked before writing
    assert fake.token not in text, "the CRM token reached the log"


def objects(fake: FakeHubSpot | FakePipedrive) -> int:
    if isinstance(fake, FakeHubSpot):
        return len(fake.calls_on("51"))
    return len(fake.notes_of(51))
