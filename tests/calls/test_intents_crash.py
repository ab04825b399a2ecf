"""kill -9 between the steps of a keyed call start: every key ends with exactly one call.

Real gateway processes (uvicorn, SQLite) in front of a stand-in OneInbox (the simulator behind
a wrapper that can hold a start before or after OneInbox acts on it). The steps of a start:
claim the key with its intent → OneInbox receives the start → OneInbox answers → the call,
link and answer are recorded → 202. The gateway is killed between each pair; after the
restart the sender retries (409 + Retry-After while the intent is unresolved) until it gets
its answer; then the key has exactly one upstream call, tracked and delivered.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.simulator import SimulatorConfig, create_simulator_app
from tests.support.receiver import CallbackReceiver
from tests.support.servers import GatewayProcess, serve_app, wait_until

API_KEY = "oi_sk_crash_0123456789"
TOKEN = "crash-hook-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@dataclass
class HoldingUpstream:
    """The simulator, with `POST /v1/calls/web` optionally held.

    mode `before`: held before the simulator sees it (then dropped: nothing is started);
    `after`: the simulator starts the call, its answer is held; `delay`: answered after
    `delay` seconds (the call exists meanwhile); `pass`: untouched.
    """

    sim_app: Any
    mode: str = "pass"
    delay: float = 0.0
    release: threading.Event = field(default_factory=threading.Event)
    arrived: threading.Event = field(default_factory=threading.Event)
    answered: threading.Event = field(default_factory=threading.Event)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        starting = (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"] == "/v1/calls/web"
        )
        if not starting or self.mode == "pass":
            await self.sim_app(scope, receive, send)
            return
        self.arrived.set()
        if self.mode == "before":
            await self._held()
            await send({"type": "http.response.start", "status": 503, "headers": []})
            await send({"type": "http.response.body", "body": b'{"detail": "dropped"}'})
            return
        messages: list[Any] = []

        async def keep(message: Any) -> None:
            messages.append(message)

        await self.sim_app(scope, receive, keep)
        if self.mode == "after":
            await self._held()
        else:
            await asyncio.sleep(self.delay)
        for message in messages:
            await send(message)
        self.answered.set()

    async def _held(self) -> None:
        while not self.release.is_set():
            await asyncio.sleep(0.02)

    @property
    def state(self) -> Any:
        return self.sim_app.state.simulator

    def calls_for(self, lead: str) -> list[Any]:
        return [c for c in list(self.state.calls.values()) if c.variables.get("lead") == lead]


@dataclass
class Rig:
    upstream: HoldingUpstream
    upstream_url: str
    receiver: CallbackReceiver
    env: dict[str, str]
    database: Path
    gateway: GatewayProcess | None = None

    def start(self) -> GatewayProcess:
        self.gateway = GatewayProcess(self.env, log_path=self.database.with_suffix(".log"))
        return self.gateway.start(timeout=60)

    def post(self, lead: str, *, timeout: float = 20) -> httpx.Response:
        assert self.gateway is not None
        return httpx.post(
            f"{self.gateway.url}/hooks/lead",
            json={"lead": lead},
            headers={**AUTH, "Idempotency-Key": f"key-{lead}"},
            timeout=timeout,
        )

    def settle(self, lead: str) -> httpx.Response:
        """Retry like a sender would until the key answers something other than 409."""

        def answered() -> httpx.Response | None:
            response = self.post(lead)
            if response.status_code == 409:
                assert float(response.headers["Retry-After"]) >= 1
                return None
            return response

        result: httpx.Response = wait_until(answered, timeout=45, interval=0.5, what=lead)
        return result

    def stored_call_ids(self) -> set[str]:
        with contextlib.closing(sqlite3.connect(self.database)) as conn:
            return {row[0] for row in conn.execute("SELECT id FROM calls")}

    def end(self, call_id: str) -> None:
        answer = httpx.post(f"{self.upstream_url}/_sim/calls/{call_id}/end", timeout=10)
        assert answer.status_code == 200, answer.text

    def assert_exactly_one_tracked_and_delivered(self, leads: list[str]) -> None:
        stored = self.stored_call_ids()
        upstream_ids = []
        for lead in leads:
            calls = self.upstream.calls_for(lead)
            assert len(calls) == 1, (lead, [c.id for c in calls])
            upstream_ids.append(calls[0].id)
        assert set(upstream_ids) <= stored  # every upstream call is tracked
        for call_id in upstream_ids:
            self.end(call_id)
        wait_until(
            lambda: set(upstream_ids) <= self.receiver.accepted_call_ids(),
            timeout=60,
            interval=0.3,
            what="every call's result delivered",
        )


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    sim_app = create_simulator_app(SimulatorConfig(api_keys=[API_KEY], analysis_delay=0.1))
    upstream = HoldingUpstream(sim_app)
    receiver = CallbackReceiver()
    with serve_app(upstream) as up, serve_app(receiver.app) as rx:
        agent = httpx.post(
            f"{up.url}/v1/agents",
            json={"name": "sales"},
            headers={"Authorization": f"Bearer {API_KEY}"},
        ).json()["id"]
        config = tmp_path / "gateway.toml"
        config.write_text(
            f'[agents.sales]\nid = "{agent}"\n\n'
            "[hooks.lead]\n"
            'agent = "sales"\n'
            'auth = { scheme = "bearer", token_env = "CRASH_HOOK_TOKEN" }\n'
            'variables = { lead = "body.lead" }\n'
            f'notify = [{{ callback_url = "{rx.url}/hook", secret_env = "CRASH_SECRET" }}]\n'
        )
        database = tmp_path / "gateway.db"
        env = {
            "DATABASE_URL": f"sqlite+aiosqlite:///{database}",
            "DATA_DIR": str(tmp_path / "data"),
            "GATEWAY_SECRET_KEY": "crash-" + uuid.uuid4().hex,
            "GATEWAY_CONFIG": str(config),
            "ONEINBOX_API_KEY": API_KEY,
            "ONEINBOX_BASE_URL": up.url,
            "CRASH_HOOK_TOKEN": TOKEN,
            "CRASH_SECRET": receiver.secret,
            "CALLBACK_ALLOW_PRIVATE": "true",
            "INTENT_GRACE_SECONDS": "3",
            "POLL_INTERVAL_SECONDS": "0.5",
            "LOG_LEVEL": "warning",
            "LOG_FORMAT": "json",
        }
        rig = Rig(upstream, up.url, receiver, env, database)
        try:
            yield rig
        finally:
            upstream.release.set()
            if rig.gateway is not None:
                rig.gateway.stop()


def _in_background(rig: Rig, lead: str) -> Any:
    pool = ThreadPoolExecutor(max_workers=1)
    future = pool.submit(lambda: _swallow(lambda: rig.post(lead, timeout=30)))
    pool.shutdown(wait=False)
    return future


def _swallow(fn: Any) -> Any:
    try:
        return fn()
    except httpx.HTTPError as exc:
        return exc


def test_killed_after_the_claim_before_oneinbox_acted(rig: Rig) -> None:
    """The intent is stored, OneInbox never started the call: the key is released."""
    gateway = rig.start()
    rig.upstream.mode = "before"
    _in_background(rig, "a")
    assert rig.upstream.arrived.wait(20)
    gateway.kill()
    rig.upstream.release.set()  # the held start is dropped: nothing was started upstream
    rig.upstream.mode = "pass"
    rig.start()
    assert rig.settle("a").status_code == 202
    rig.assert_exactly_one_tracked_and_delivered(["a"])


def test_killed_while_oneinbox_holds_its_answer(rig: Rig) -> None:
    """OneInbox started the call, the answer never reached the gateway: the call is adopted."""
    gateway = rig.start()
    rig.upstream.mode = "after"
    _in_background(rig, "b")
    assert rig.upstream.arrived.wait(20)
    wait_until(lambda: rig.upstream.calls_for("b"), what="the call to exist upstream")
    gateway.kill()
    rig.upstream.release.set()
    rig.upstream.mode = "pass"
    rig.start()
    answer = rig.settle("b")
    assert answer.status_code == 202, answer.text
    assert answer.json()["call_id"] == rig.upstream.calls_for("b")[0].id
    rig.assert_exactly_one_tracked_and_delivered(["b"])


def test_killed_after_the_answer_before_the_record(rig: Rig) -> None:
    """OneInbox answered, the store could not record it (its write lock is held) when the
    process died: the call is adopted, not started again."""
    gateway = rig.start()
    rig.upstream.mode = "after"
    _in_background(rig, "c")
    assert rig.upstream.arrived.wait(20)
    blocker = sqlite3.connect(rig.database, timeout=30, isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")  # the gateway's record now waits for the lock
        rig.upstream.release.set()
        assert rig.upstream.answered.wait(20)
        gateway.kill()
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    rig.upstream.mode = "pass"
    assert not rig.stored_call_ids()
    rig.start()
    answer = rig.settle("c")
    assert answer.status_code == 202, answer.text
    rig.assert_exactly_one_tracked_and_delivered(["c"])


def test_killed_after_the_record_the_retry_gets_the_first_answer(rig: Rig) -> None:
    rig.start()
    first = rig.post("d")
    assert first.status_code == 202
    assert rig.gateway is not None
    rig.gateway.kill()
    rig.start()
    again = rig.settle("d")
    assert again.status_code == 202 and again.json() == first.json()
    rig.assert_exactly_one_tracked_and_delivered(["d"])


def test_kill_9_during_a_keyed_burst(rig: Rig) -> None:
    """The trial: 40 keyed hooks with OneInbox answering in 1 s, kill -9 mid-burst, restart,
    every sender retries: each key has exactly one upstream call, tracked and delivered."""
    gateway = rig.start()
    rig.upstream.mode, rig.upstream.delay = "delay", 1.0
    leads = [f"burst-{i}" for i in range(40)]
    with ThreadPoolExecutor(max_workers=40) as pool:
        futures = [pool.submit(_swallow, lambda lead=lead: rig.post(lead)) for lead in leads]
        wait_until(lambda: len(rig.upstream.state.calls) >= 10, what="the burst in flight")
        gateway.kill()
        [f.result() for f in futures]
    rig.upstream.mode = "pass"
    rig.start()
    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(rig.settle, leads))
    assert all(a.status_code == 202 for a in answers), [a.text for a in answers if a.is_error]
    rig.assert_exactly_one_tracked_and_delivered(leads)
