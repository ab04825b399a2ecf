"""Two replicas on one PostgreSQL database, transcript events landing on either: the thread
shows each turn once, complete, whichever replica received which event."""

from __future__ import annotations

import contextlib
from pathlib import Path

import httpx
import pytest

from gateway.calls.webhooks import webhook_token
from integrations.slack.cards import card_metadata
from integrations.slack.live import LIVE_EVENT
from tests.calls.harness import create_agent, remote_env, simulator_process
from tests.slack.signing import BOT_TOKEN, SIGNING_SECRET, command_body, signed_headers
from tests.support.fake_slack import FakeSlack
from tests.support.servers import GatewayProcess, free_port, serve_app, wait_until

pytestmark = pytest.mark.postgres
CHANNEL = "C0GENERAL"
SCRIPT = [
    ("agent", "Hi Ada! Shall we find a time for a demo next week?"),
    ("user", "Yes, Thursday afternoon works for me."),
    ("agent", "Great, I have booked Thursday at 3 pm. You will get an invite."),
]


def spoken_events(call_id: str) -> list[dict[str, object]]:
    """Each turn as growing partials then a final, as a speech pipeline sends them."""
    events: list[dict[str, object]] = []
    for role, text in SCRIPT:
        words = text.split()
        for n in range(2, len(words), 2):
            events.append(
                {
                    "event": "transcript.partial",
                    "call_id": call_id,
                    "role": role,
                    "content": " ".join(words[:n]),
                }
            )
        events.append(
            {"event": "transcript.final", "call_id": call_id, "role": role, "content": text}
        )
    return events


@pytest.mark.timeout(120)
def test_events_on_either_replica_make_one_thread(
    tmp_path: Path, gateway_env: dict[str, str], postgres_url: str
) -> None:
    fake = FakeSlack(token=BOT_TOKEN)
    fake.enforce_rate_limits()
    sim = simulator_process(tmp_path).start(ready_path="/")
    try:
        with serve_app(fake.app) as slack, contextlib.ExitStack() as stack:
            config = tmp_path / "gateway.toml"
            config.write_text(f'[agents.sales]\nid = "{create_agent(sim.url)}"\n')
            ports = [free_port(), free_port()]
            env = remote_env(
                {
                    **gateway_env,
                    "DATABASE_URL": postgres_url,
                    "PUBLIC_BASE_URL": f"http://127.0.0.1:{ports[0]}",
                },
                sim_url=sim.url,
                config_path=config,
                secrets={
                    "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                    "SLACK_BOT_TOKEN": BOT_TOKEN,
                    "SLACK_API_URL": slack.url + "/api/",
                },
            )
            replicas = [
                GatewayProcess(env, port=port, log_path=tmp_path / f"gw-{n}.log")
                for n, port in enumerate(ports)
            ]
            for replica in replicas:
                stack.callback(replica.stop)
                replica.start(timeout=60)

            body = command_body("call sales live=yes", response_url=slack.url + "/response/r1")
            answer = httpx.post(
                replicas[0].url + "/slack/events", content=body, headers=signed_headers(body)
            )
            assert answer.status_code == 200
            card = wait_until(
                lambda: next(
                    (
                        m
                        for m in fake.posts(CHANNEL)
                        if (m.get("metadata") or {}).get("event_type") == "oneinbox_call_card"
                    ),
                    None,
                ),
                timeout=20,
                what="the card",
            )
            call_id = card["metadata"]["event_payload"]["call_id"]
            assert card["metadata"] == card_metadata(call_id)

            token = webhook_token(env["GATEWAY_SECRET_KEY"].encode())
            for n, event in enumerate(spoken_events(call_id)):
                target = replicas[n % 2].url + f"/webhooks/oneinbox?token={token}"
                posted = httpx.post(target, json=event, timeout=10)
                assert posted.status_code == 202, posted.text

            def thread() -> list[str]:
                return [
                    m["text"]
                    for m in fake.replies(CHANNEL, card["ts"])
                    if (m.get("metadata") or {}).get("event_type") == LIVE_EVENT
                ]

            speaker = {"agent": "Agent", "user": "Caller"}
            expected = [f"*{speaker[role]}:* {text}" for role, text in SCRIPT]
            wait_until(lambda: thread() == expected, timeout=30, what=f"thread {expected}")
    finally:
        sim.stop()

    live_posts = [
        c
        for c in fake.called("chat.postMessage")
        if (c.args.get("metadata") or {}).get("event_type") == LIVE_EVENT
        and not any(c is limited for limited in fake.limited)
    ]
    assert len(live_posts) == len(SCRIPT), "a turn was posted twice"
    assert len(fake.limited) <= 2
