"""The whole flow with the gateway as a real process: simulator, tracker, outbox, fake Slack.

`/voice call` is acked inside Slack's 3 s while OneInbox takes 2.5 s; the card carries a
working join link; the end of the call updates the card and posts one thread reply, even when
the gateway is killed (-9) after posting the reply and before recording it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.store.calls import CallRepository
from gateway.store.database import Database
from gateway.upstream import LOCAL_API_KEY
from tests.slack.conftest import AGENTS_TOML
from tests.slack.signing import BOT_TOKEN, SIGNING_SECRET, command_body, signed_headers
from tests.support.fake_slack import FakeSlack
from tests.support.servers import GatewayProcess, ServerThread, free_port, serve_app, wait_until

CHANNEL = "C0GENERAL"


class Flow:
    def __init__(
        self, env: dict[str, str], fake: FakeSlack, slack: ServerThread, log: Path
    ) -> None:
        self.env, self.fake, self.slack, self.log = env, fake, slack, log
        self.port = free_port()
        self.env["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{self.port}"
        self.proc: GatewayProcess | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = GatewayProcess(self.env, port=self.port, log_path=self.log).start()

    def sim(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {LOCAL_API_KEY}"}
        return httpx.request(
            method, f"{self.url}/oneinbox-sim{path}", headers=headers, timeout=10, **kwargs
        )

    def command(self, text: str) -> httpx.Response:
        body = command_body(text, response_url=self.slack.url + "/response/r1", channel_id=CHANNEL)
        return httpx.post(
            f"{self.url}/slack/events", content=body, headers=signed_headers(body), timeout=10
        )

    def call_state(self, call_id: str) -> str | None:
        async def read() -> str | None:
            db = Database(self.env["DATABASE_URL"])
            try:
                async with db.session() as session:
                    row = await CallRepository(session).get(call_id)
                    return row.state if row else None
            finally:
                await db.dispose()

        return asyncio.run(read())

    def start_call(self) -> tuple[str, dict[str, Any]]:
        """`/voice call sales customer_name="Ada"` at 2.5 s upstream latency: acked < 3 s."""
        self.sim("PATCH", "/_sim/config", json={"latency_seconds": 2.5}).raise_for_status()
        started = time.monotonic()
        response = self.command('call sales customer_name="Ada"')
        acked_in = time.monotonic() - started
        assert response.status_code == 200
        assert acked_in < 3.0, f"acked in {acked_in:.2f}s"
        card = wait_until(
            lambda: [m for m in self.fake.posts(CHANNEL) if "thread_ts" not in m],
            timeout=30,
            what="card",
        )[-1]
        self.sim(
            "PATCH", "/_sim/config", json={"latency_seconds": 0, "analysis_delay": 0.2}
        ).raise_for_status()
        actions = next(b for b in card["blocks"] if b["type"] == "actions")["elements"]
        call_id = next(e["value"] for e in actions if e["action_id"] == "stop_call")
        join_url = next(e["url"] for e in actions if e["action_id"] == "join_call")
        page = httpx.get(join_url, timeout=10)
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        wait_until(lambda: self.call_has_card(call_id), timeout=10, what="card recorded")
        return call_id, card

    def call_has_card(self, call_id: str) -> bool:
        async def read() -> bool:
            db = Database(self.env["DATABASE_URL"])
            try:
                async with db.session() as session:
                    row = await CallRepository(session).get(call_id)
                    return bool(row and row.origin_context.get("card"))
            finally:
                await db.dispose()

        return asyncio.run(read())

    def end_call(self, call_id: str) -> None:
        self.sim("POST", f"/_sim/calls/{call_id}/join").raise_for_status()
        self.sim(
            "POST",
            f"/_sim/calls/{call_id}/end",
            json={"outcome": "Appointment Booked", "summary": "Ada booked a demo for Tuesday."},
        ).raise_for_status()

    def replies(self, card: dict[str, Any]) -> list[dict[str, Any]]:
        return self.fake.replies(CHANNEL, card["ts"])


@pytest.fixture
def flow(gateway_env: dict[str, str], tmp_path: Path) -> Iterator[Flow]:
    config = tmp_path / "gateway.toml"
    config.write_text(AGENTS_TOML)
    fake = FakeSlack(token=BOT_TOKEN)
    with serve_app(fake.app) as slack:
        env = {
            **gateway_env,
            "GATEWAY_CONFIG": str(config),
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_API_URL": slack.url + "/api/",
            "POLL_INTERVAL_SECONDS": "0.3",
            "ANALYSIS_WAIT_SECONDS": "20",
            "DELIVERY_SCHEDULE_SCALE": "0.01",
        }
        running = Flow(env, fake, slack, tmp_path / "gateway.log")
        try:
            yield running
        finally:
            fake.hold_thread_replies = False
            if running.proc is not None:
                running.proc.stop()


def assert_one_result(flow: Flow, card: dict[str, Any], call_id: str) -> None:
    (reply,) = flow.replies(card)
    assert reply["metadata"]["event_type"] == "oneinbox_call_result"
    assert reply["metadata"]["event_payload"]["call_id"] == call_id
    text = json.dumps(reply["blocks"])
    assert "Appointment Booked" in text and "Ada booked a demo for Tuesday." in text
    updated = flow.fake.message(CHANNEL, card["ts"])
    assert updated is not None
    assert "Ended" in json.dumps(updated["blocks"]) and "Appointment Booked" in json.dumps(
        updated["blocks"]
    )
    assert not any(b["type"] == "actions" for b in updated["blocks"])
    sent = json.dumps([c.args for c in flow.fake.calls])
    assert "oi_sk_" not in sent
    logged = flow.log.read_text()
    assert BOT_TOKEN not in logged and SIGNING_SECRET not in logged


def test_call_card_then_one_thread_reply_when_the_call_ends(flow: Flow) -> None:
    flow.start()
    call_id, card = flow.start_call()
    flow.end_call(call_id)
    wait_until(lambda: flow.call_state(call_id) == "delivered", timeout=40, what="delivered")
    assert_one_result(flow, card, call_id)


def test_killed_after_posting_the_reply_still_yields_exactly_one_reply(flow: Flow) -> None:
    flow.start()
    call_id, card = flow.start_call()
    flow.fake.hold_thread_replies = True  # the reply lands in Slack; its answer never returns
    flow.end_call(call_id)
    wait_until(lambda: flow.replies(card), timeout=40, what="the reply reaching Slack")
    assert flow.proc is not None
    flow.proc.kill()
    flow.fake.hold_thread_replies = False
    assert flow.call_state(call_id) != "delivered"

    flow.start()
    wait_until(
        lambda: flow.call_state(call_id) == "delivered", timeout=40, what="delivered after restart"
    )
    assert_one_result(flow, card, call_id)
    threaded = [c for c in flow.fake.called("chat.postMessage") if c.args.get("thread_ts")]
    assert len(threaded) == 1
    assert flow.fake.called("conversations.replies")  # it looked before posting again
