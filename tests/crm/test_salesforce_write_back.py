"""Salesforce write-back end to end: real `serve` processes, the OneInbox simulator process and
the org stand-in on loopback. A call a Salesforce hook starts ends as one call Task on the
record that asked, whatever the org does in between, and no secret reaches a log line."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.delivery.crm import marker
from tests.calls.harness import create_agent, read_store, simulator_process
from tests.support.fake_salesforce import FakeSalesforce, errors
from tests.support.servers import GatewayProcess, ServerThread, free_port, serve_app, wait_until

FIXTURES = Path(__file__).resolve().parents[2] / "integrations" / "salesforce" / "fixtures"
FLOW_TOKEN = "salesforce-flow-token-0123456789"
ORG_ID = "00D000000000001AAA"  # the org of the Outbound Message fixtures


def config(agent: str) -> str:
    return f"""
[agents.sales]
id = "{agent}"

[hooks.sf-contact]
preset = "salesforce"
agent = "sales"
auth = {{ scheme = "none" }}
options = {{ organization_id = "{ORG_ID}" }}

[hooks.sf-flow]
preset = "salesforce.flow"
agent = "sales"
"""


@dataclass
class Rig:
    org: FakeSalesforce
    org_server: ServerThread
    sim: GatewayProcess
    env: dict[str, str]
    tmp_path: Path
    gateway: GatewayProcess

    @property
    def database_url(self) -> str:
        return self.env["DATABASE_URL"]

    @property
    def log(self) -> str:
        return (self.tmp_path / "gateway.log").read_text(errors="replace")

    def start_flow_call(self, record_id: str) -> str:
        answer = httpx.post(
            f"{self.gateway.url}/hooks/sf-flow",
            json={"recordId": record_id, "firstName": "Ada"},
            headers={"Authorization": f"Bearer {FLOW_TOKEN}"},
            timeout=15,
        )
        assert answer.status_code == 202, answer.text
        return str(answer.json()["call_id"])

    def end_call(self, call_id: str, outcome: str = "Interested") -> None:
        joined = httpx.post(f"{self.sim.url}/_sim/calls/{call_id}/join", timeout=10)
        assert joined.status_code == 200, joined.text
        script = {"outcome": outcome, "summary": f"Ada was asked; {outcome.lower()}."}
        answer = httpx.post(f"{self.sim.url}/_sim/calls/{call_id}/end", json=script, timeout=10)
        assert answer.status_code == 200, answer.text

    def delivery(self, call_id: str) -> Any:
        (delivery,) = read_store(self.database_url, call_id)["deliveries"]
        return delivery

    def wait_for(self, call_id: str, *states: str, timeout: float = 30) -> Any:
        def settled() -> Any:
            delivery = self.delivery(call_id)
            return delivery if delivery.state in states else None

        return wait_until(settled, timeout=timeout, interval=0.2, what=f"{call_id} {states}")

    def restart(self) -> None:
        self.gateway = GatewayProcess(
            self.env, port=self.gateway.port, log_path=self.tmp_path / "gateway.log"
        ).start()


@contextlib.contextmanager
def rig(tmp_path: Path, base_env: dict[str, str], **env: str) -> Iterator[Rig]:
    org = FakeSalesforce()
    sim = simulator_process(tmp_path).start(ready_path="/")
    gateway: GatewayProcess | None = None
    try:
        with serve_app(org.app) as org_server:
            path = tmp_path / "gateway.toml"
            path.write_text(config(create_agent(sim.url)))
            values = {
                **base_env,
                "ONEINBOX_API_KEY": "oi_sk_test",
                "ONEINBOX_BASE_URL": sim.url,
                "GATEWAY_CONFIG": str(path),
                "POLL_INTERVAL_SECONDS": "0.3",
                "POLL_BUDGET_PER_SECOND": "50",
                # Retries after ~2 ms, 0.15 s, 0.9 s: the org's limits are waited out quickly.
                "DELIVERY_SCHEDULE_SCALE": "0.0005",
                "ANALYSIS_WAIT_SECONDS": "5",
                "LOG_LEVEL": "debug",
                "SALESFORCE_LOGIN_URL": org_server.url,
                "SALESFORCE_CLIENT_ID": org.client_id,
                "SALESFORCE_CLIENT_SECRET": org.client_secret,
                "SALESFORCE_FLOW_TOKEN": FLOW_TOKEN,
                **env,
            }
            gateway = GatewayProcess(values, port=free_port(), log_path=tmp_path / "gateway.log")
            running = Rig(org, org_server, sim, values, tmp_path, gateway.start())
            try:
                yield running
            finally:
                running.gateway.stop()
            assert_no_secret_in(running)
    finally:
        if gateway is not None:
            gateway.stop()
        sim.stop()


@pytest.fixture
def gateway_env(tmp_path: Path) -> dict[str, str]:
    """A gateway's store and data under the test's tmp dir."""
    return {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}",
        "DATA_DIR": str(tmp_path / "data"),
        "GATEWAY_SECRET_KEY": "salesforce-test-secret-key-0123456789",
        "LOG_FORMAT": "json",
    }


def assert_no_secret_in(running: Rig) -> None:
    """Neither the client secret nor any access token the org handed out was logged."""
    log = running.log
    assert running.org.client_secret not in log
    assert running.env["SALESFORCE_CLIENT_SECRET"] not in log
    for token in running.org.seen_tokens():
        assert token not in log
        assert token.split("!")[1] not in log


def test_an_outbound_message_ends_as_one_call_task_on_the_contact(
    tmp_path: Path, gateway_env: dict[str, str], database_url: str
) -> None:
    # The happy path on SQLite and on PostgreSQL.
    with rig(tmp_path, {**gateway_env, "DATABASE_URL": database_url}) as r:
        contact = r.org.add_record("003", "003000000000001AAA")  # the fixture's Contact
        answer = httpx.post(
            f"{r.gateway.url}/hooks/sf-contact",
            content=(FIXTURES / "outbound-message.xml").read_bytes(),
            headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'},
            timeout=15,
        )
        assert answer.status_code == 200, answer.text
        listed = httpx.get(
            f"{r.sim.url}/v1/calls", headers={"Authorization": "Bearer oi_sk_test"}, timeout=10
        )
        (call,) = listed.json()["items"]
        call_id = str(call["id"])
        r.end_call(call_id, "Interested")
        delivery = r.wait_for(call_id, "delivered")
        assert delivery.config["record_id"] == contact
        (task,) = r.org.all_tasks()
        assert task["WhoId"] == contact and "WhatId" not in task
        assert task["Subject"] == "Voice call: Interested"
        assert task["Status"] == "Completed" and task["TaskSubtype"] == "Call"
        assert task["CallObject"] == marker(call_id)
        assert "Ada was asked; interested." in task["Description"]
        assert "Transcript:" in task["Description"]
        assert isinstance(task["CallDurationInSeconds"], int)
        assert len(r.org.token_requests) == 1


def test_an_expired_session_is_renewed_and_the_task_written(
    tmp_path: Path, gateway_env: dict[str, str]
) -> None:
    with rig(tmp_path, gateway_env) as r:
        account = r.org.add_record("001")
        first = r.start_flow_call(account)
        r.end_call(first)
        r.wait_for(first, "delivered")
        r.org.expire_sessions()
        second = r.start_flow_call(account)
        r.end_call(second, "Callback Requested")
        r.wait_for(second, "delivered")
        assert len(r.org.token_requests) == 2
        tasks = {t["CallObject"]: t for t in r.org.all_tasks()}
        assert set(tasks) == {marker(first), marker(second)}
        assert tasks[marker(second)]["WhatId"] == account  # an Account: WhatId, not WhoId
        assert tasks[marker(second)]["Subject"] == "Voice call: Callback Requested"


def test_the_org_s_api_limit_and_a_429_are_waited_out(
    tmp_path: Path, gateway_env: dict[str, str]
) -> None:
    with rig(tmp_path, gateway_env) as r:
        lead = r.org.add_record("00Q")
        limit = errors("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        r.org.fail("create", 403, limit, times=2)
        busy = errors("REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded.")
        r.org.fail("create", 429, busy, headers={"Retry-After": "1"})
        call_id = r.start_flow_call(lead)
        r.end_call(call_id)
        delivery = r.wait_for(call_id, "delivered")
        assert delivery.attempts == 4
        (task,) = r.org.all_tasks()
        assert task["WhoId"] == lead


def run_cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        env={**env, "LOG_LEVEL": "warning"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done.stdout + done.stderr


def test_a_deleted_record_or_an_unknown_id_dead_letters_at_once(
    tmp_path: Path, gateway_env: dict[str, str]
) -> None:
    with rig(tmp_path, gateway_env) as r:
        gone = r.org.add_record("003")
        r.org.delete_record(gone)
        deleted_call = r.start_flow_call(gone)
        unknown_call = r.start_flow_call("0065g00000NoSuchAA")
        for call_id in (deleted_call, unknown_call):
            r.end_call(call_id)
        deleted = r.wait_for(deleted_call, "dead")
        unknown = r.wait_for(unknown_call, "dead")
        assert deleted.attempts == 1 and unknown.attempts == 1  # never retried
        assert f"record {gone}" in deleted.last_error and "ENTITY_IS_DELETED" in deleted.last_error
        assert "INVALID_CROSS_REFERENCE_KEY" in unknown.last_error
        assert r.org.all_tasks() == []
        shown = run_cli(r.env, "calls", "show", deleted_call)
        assert "ENTITY_IS_DELETED" in shown and "dead" in shown


def test_a_record_id_that_is_not_one_is_refused_by_the_hook(
    tmp_path: Path, gateway_env: dict[str, str]
) -> None:
    with rig(tmp_path, gateway_env) as r:
        answer = httpx.post(
            f"{r.gateway.url}/hooks/sf-flow",
            json={"recordId": "Ada Lovelace", "firstName": "Ada"},
            headers={"Authorization": f"Bearer {FLOW_TOKEN}"},
            timeout=15,
        )
        assert answer.status_code == 422
        assert answer.json()["error"]["code"] == "invalid_record_id"
        assert "15- or 18-character Salesforce record id" in answer.json()["error"]["message"]


def test_a_wrong_client_secret_dead_letters_naming_the_variables(
    tmp_path: Path, gateway_env: dict[str, str]
) -> None:
    wrong = "wrong-consumer-secret-9876543210"
    with rig(tmp_path, gateway_env, SALESFORCE_CLIENT_SECRET=wrong) as r:
        call_id = r.start_flow_call(r.org.add_record("003"))
        r.end_call(call_id)
        delivery = r.wait_for(call_id, "dead")
        assert delivery.attempts == 1
        assert "invalid_client" in delivery.last_error
        assert (
            "SALESFORCE_CLIENT_ID" in delivery.last_error
            and "SALESFORCE_CLIENT_SECRET" in delivery.last_error
        )
        assert wrong not in delivery.last_error
        assert r.org.requests == [] and r.org.all_tasks() == []
        assert wrong not in r.log


@pytest.mark.timeout(120)
def test_kill_9_between_the_create_and_its_answer_leaves_exactly_one_task(
    tmp_path: Path, gateway_env: dict[str, str]
) -> None:
    with rig(tmp_path, gateway_env) as r:
        contact = r.org.add_record("003")
        r.org.hold_creates = True
        call_id = r.start_flow_call(contact)
        r.end_call(call_id)
        wait_until(lambda: r.org.held == 1, timeout=30, what="the create to be held")
        r.gateway.kill()
        r.org.hold_creates = False
        assert len(r.org.tasks_for(marker(call_id))) == 1  # Salesforce has it; we never heard
        r.restart()
        r.wait_for(call_id, "delivered")
        assert len(r.org.tasks_for(marker(call_id))) == 1
        assert len(r.org.all_tasks()) == 1
        queries = [p for m, p, _ in r.org.requests if m == "GET" and p.endswith("/query")]
        assert len(queries) == 1  # the restarted process looked before writing
