"""One call, two destinations: Slack with `redact` sees personal data masked; the signed
callback (and the store) see it complete. A real gateway, the simulator, a fake Slack, a
callback receiver that verifies signatures with `standardwebhooks`."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gateway.simulator.transcripts import canned_analysis
from gateway.store.calls import CallRepository
from gateway.store.database import Database
from tests.slack.conftest import SlackRig, make_rig
from tests.support.receiver import CallbackReceiver
from tests.support.servers import serve_app, wait_until

EMAIL = "ada.lovelace@example.com"
PHONE = "415-555-0123"
CARD = "4242 4242 4242 4242"
NAME = f"Ada ({EMAIL}, {PHONE})"
SPANISH = "612 345 678"  # national in Spain (PHONE_DEFAULT_REGION=ES), not a US number
SUMMARY = f"Ada ({EMAIL}) paid with card {CARD} and wants a call back on {PHONE} or {SPANISH}."
SALES = "C0SALES"
TOKEN = "redact-hook-token-0123456789"
HOOK = """
[hooks.lead]
agent = "sales"
auth = {{ scheme = "bearer", token_env = "REDACT_HOOK_TOKEN" }}
variables = {{ customer_name = "body.name" }}
notify = [
  {{ slack_channel = "{channel}", redact = ["phone", "email", "card"] }},
  {{ callback_url = "{callback}", secret_env = "REDACT_RECEIVER_SECRET" }},
]
"""


@pytest.fixture
def receiver() -> Iterator[tuple[CallbackReceiver, str]]:
    rx = CallbackReceiver()
    with serve_app(rx.app) as server:
        yield rx, server.url + "/hook"


@pytest.fixture
def rig(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receiver: tuple[CallbackReceiver, str]
) -> Iterator[SlackRig]:
    rx, url = receiver
    monkeypatch.setenv("REDACT_HOOK_TOKEN", TOKEN)
    monkeypatch.setenv("REDACT_RECEIVER_SECRET", rx.secret)
    yield from make_rig(
        tmp_path,
        extra_config=HOOK.format(channel=SALES, callback=url),
        callback_allow_private=True,
        phone_default_region="ES",
    )


def stored_summary(database_url: str, call_id: str) -> str:
    async def read() -> str:
        db = Database(database_url)
        try:
            async with db.session() as session:
                row = await CallRepository(session).get(call_id)
                assert row is not None and row.result is not None
                return str(row.result["summary"])
        finally:
            await db.dispose()

    return asyncio.run(read())


def test_slack_sees_personal_data_masked_and_the_callback_sees_it_whole(
    rig: SlackRig, receiver: tuple[CallbackReceiver, str]
) -> None:
    rx, _ = receiver
    started = httpx.post(
        f"{rig.gateway.url}/hooks/lead",
        json={"name": NAME},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert started.status_code == 202, started.text
    call_id = started.json()["call_id"]
    # A simulator seed whose canned transcript greets the customer by name (so it carries
    # the email and phone number); then the call is joined and ended with a scripted summary.
    seed = next(
        s
        for s in range(50)
        if any(
            NAME in m["content"]
            for m in canned_analysis(
                call_id, seed=s, joined=True, variables={"customer_name": NAME}
            ).messages
        )
    )
    assert rig.sim("PATCH", "/_sim/config", json={"seed": seed}).status_code == 200
    assert rig.sim("POST", f"/_sim/calls/{call_id}/join").status_code == 200
    ended = rig.sim("POST", f"/_sim/calls/{call_id}/end", json={"summary": SUMMARY})
    assert ended.status_code == 200

    (callback,) = wait_until(lambda: [r for r in rx.received if r.verified], timeout=60)
    slack_posts = wait_until(lambda: rig.fake.posts(SALES), timeout=60, what="Slack result")

    data = callback.payload["data"]
    assert data["summary"] == SUMMARY
    assert any(NAME in m["content"] for m in data["messages"])

    seen_by_slack = json.dumps(slack_posts)
    for raw in (EMAIL, PHONE, CARD, SPANISH, "4242424242424242", "4155550123"):
        assert raw not in seen_by_slack
    assert "[email]" in seen_by_slack and "[phone ending 0123]" in seen_by_slack
    assert "[card ending 4242]" in seen_by_slack and "[phone ending 5678]" in seen_by_slack
    transcript = [m for m in slack_posts if "Ada ([email], [phone ending 0123])" in json.dumps(m)]
    assert transcript, "the transcript reaches Slack masked"

    assert stored_summary(rig.database_url, call_id) == SUMMARY  # the store keeps it whole
