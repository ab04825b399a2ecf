"""The `slack` destination against a fake Slack API: card update, one reply, errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.calls.result import CallResult
from gateway.delivery.registry import DeliveryAttempt
from integrations.slack import blocks
from integrations.slack.cards import card_metadata
from integrations.slack.destination import SlackDestination
from integrations.slack.workspace import SlackWorkspaces
from tests.slack.signing import BOT_TOKEN
from tests.support.fake_slack import FakeSlack
from tests.support.servers import ServerThread, serve_app

CHANNEL = "C0GENERAL"
FIXTURE = Path(__file__).parent / "fixtures" / "call_result.json"


@pytest.fixture
def fake() -> Iterator[tuple[FakeSlack, ServerThread]]:
    slack = FakeSlack(token=BOT_TOKEN)
    with serve_app(slack.app) as server:
        yield slack, server


def result(**changes: Any) -> CallResult:
    return CallResult.model_validate({**json.loads(FIXTURE.read_text()), **changes})


def destination(
    server: ServerThread, *, auto_join: bool = True, token: str = BOT_TOKEN
) -> SlackDestination:
    return SlackDestination(SlackWorkspaces(server.url + "/api/", token), auto_join=auto_join)


def attempt(config: dict[str, Any], *, n: int = 1, uncertain: bool = False) -> DeliveryAttempt:
    return DeliveryAttempt(
        delivery_id="dlv_1",
        call_id="call_8f2c1a",
        destination_key=f"slack:{config.get('channel')}",
        config=config,
        attempt=n,
        uncertain=uncertain,
    )


def post_card(slack: FakeSlack, call_id: str = "call_8f2c1a") -> str:
    text, card = blocks.call_card(
        call_id=call_id, agent_name="sales", started_by="<@U0USER1>", join_url="http://gw/join/x"
    )
    with slack._lock:  # as the command handler would have posted it
        reply = slack._chat_postMessage(
            {"channel": CHANNEL, "text": text, "blocks": card, "metadata": card_metadata(call_id)}
        )
    return str(reply["ts"])


async def test_updates_the_card_and_replies_in_its_thread(
    fake: tuple[FakeSlack, ServerThread],
) -> None:
    slack, server = fake
    ts = post_card(slack)
    outcome = await destination(server).deliver(
        attempt({"channel": CHANNEL, "thread_ts": ts}), result()
    )
    assert outcome.ok
    card = slack.message(CHANNEL, ts)
    assert card is not None and card["edited"] == 1
    assert card["blocks"] == blocks.ended_card(result())[1]
    assert not any(b["type"] == "actions" for b in card["blocks"])  # no more buttons
    (reply,) = slack.replies(CHANNEL, ts)
    assert reply["metadata"] == {
        "event_type": "oneinbox_call_result",
        "event_payload": {"call_id": "call_8f2c1a", "delivery_id": "dlv_1"},
    }
    assert "Appointment Booked" in json.dumps(reply["blocks"])
    assert "premium plan &amp; booked a demo for Tuesday &lt;10am&gt;" in json.dumps(
        reply["blocks"]
    )


async def test_an_uncertain_retry_finds_its_earlier_reply_and_posts_nothing(
    fake: tuple[FakeSlack, ServerThread],
) -> None:
    slack, server = fake
    ts = post_card(slack)
    dest = destination(server)
    config = {"channel": CHANNEL, "thread_ts": ts}
    assert (await dest.deliver(attempt(config), result())).ok
    again = await dest.deliver(attempt(config, n=2, uncertain=True), result())
    assert again.ok
    assert len(slack.replies(CHANNEL, ts)) == 1
    assert slack.message(CHANNEL, ts)["edited"] == 2  # type: ignore[index]  # the update is idempotent
    assert len(slack.called("conversations.replies")) == 1


async def test_an_uncertain_retry_with_nothing_posted_posts_once(
    fake: tuple[FakeSlack, ServerThread],
) -> None:
    slack, server = fake
    ts = post_card(slack)
    outcome = await destination(server).deliver(
        attempt({"channel": CHANNEL, "thread_ts": ts}, n=2, uncertain=True), result()
    )
    assert outcome.ok
    assert len(slack.replies(CHANNEL, ts)) == 1


async def test_a_hook_started_call_gets_the_result_message_in_the_channel(
    fake: tuple[FakeSlack, ServerThread],
) -> None:
    slack, server = fake
    hooked = result(origin={"kind": "hook", "name": "hubspot", "context": {"deal_id": "42"}})
    dest = destination(server)
    assert (await dest.deliver(attempt({"channel": CHANNEL}), hooked)).ok
    assert (await dest.deliver(attempt({"channel": CHANNEL}, n=2, uncertain=True), hooked)).ok
    (message,) = slack.posts(CHANNEL)
    assert "thread_ts" not in message
    assert message["blocks"] == blocks.result_message(hooked)[1]
    assert "hook `hubspot`" in json.dumps(message["blocks"])
    assert slack.called("chat.update") == []


async def test_a_slack_call_whose_card_ts_was_never_recorded_still_threads_under_its_card(
    fake: tuple[FakeSlack, ServerThread],
) -> None:
    slack, server = fake
    post_card(slack, call_id="call_other")
    ts = post_card(slack)
    outcome = await destination(server).deliver(
        attempt({"channel": CHANNEL, "thread_ts": None}), result()
    )
    assert outcome.ok
    assert len(slack.replies(CHANNEL, ts)) == 1
    assert slack.message(CHANNEL, ts)["edited"] == 1  # type: ignore[index]


async def test_a_deleted_card_gets_the_result_in_the_channel(
    fake: tuple[FakeSlack, ServerThread],
) -> None:
    slack, server = fake
    outcome = await destination(server).deliver(
        attempt({"channel": CHANNEL, "thread_ts": "123.000001"}), result()
    )
    assert outcome.ok
    (message,) = slack.posts(CHANNEL)
    assert "thread_ts" not in message


async def test_ratelimited_returns_retry_after(fake: tuple[FakeSlack, ServerThread]) -> None:
    slack, server = fake
    ts = post_card(slack)
    slack.fail("chat.postMessage", "ratelimited", retry_after=7)
    outcome = await destination(server).deliver(
        attempt({"channel": CHANNEL, "thread_ts": ts}), result()
    )
    assert not outcome.ok and not outcome.permanent
    assert outcome.status_code == 429 and outcome.retry_after == 7.0
    assert slack.replies(CHANNEL, ts) == []
    retried = await destination(server).deliver(
        attempt({"channel": CHANNEL, "thread_ts": ts}, n=2), result()
    )
    assert retried.ok and len(slack.replies(CHANNEL, ts)) == 1


async def test_not_in_channel_joins_when_allowed(fake: tuple[FakeSlack, ServerThread]) -> None:
    slack, server = fake
    slack.only_members_of(joinable=(CHANNEL,))
    hooked = result(origin={"kind": "hook", "name": "pipedrive", "context": {}})
    assert (await destination(server).deliver(attempt({"channel": CHANNEL}), hooked)).ok
    assert [c.args["channel"] for c in slack.called("conversations.join")] == [CHANNEL]
    assert len(slack.posts(CHANNEL)) == 1


async def test_not_in_channel_and_not_joinable_is_a_permanent_error_that_says_what_to_do(
    fake: tuple[FakeSlack, ServerThread],
) -> None:
    slack, server = fake
    slack.only_members_of()
    hooked = result(origin={"kind": "hook", "name": "pipedrive", "context": {}})
    for auto_join in (True, False):
        outcome = await destination(server, auto_join=auto_join).deliver(
            attempt({"channel": "G0PRIVATE"}), hooked
        )
        assert not outcome.ok and outcome.permanent
        assert (
            outcome.error is not None
            and "/invite" in outcome.error
            and "G0PRIVATE" in outcome.error
        )
    assert slack.posts() == []


async def test_a_revoked_token_is_permanent_and_never_echoed(
    fake: tuple[FakeSlack, ServerThread],
) -> None:
    _, server = fake
    outcome = await destination(server, token="xoxb-revoked-secret").deliver(
        attempt({"channel": CHANNEL}), result(origin={"kind": "hook", "name": "h", "context": {}})
    )
    assert not outcome.ok and outcome.permanent
    assert outcome.error == "slack: invalid_auth"


async def test_no_channel_is_a_permanent_config_error(fake: tuple[FakeSlack, ServerThread]) -> None:
    _, server = fake
    outcome = await destination(server).deliver(attempt({}), result())
    assert not outcome.ok and outcome.permanent


async def test_slack_unreachable_is_transient() -> None:
    from tests.support.servers import free_port

    dest = SlackDestination(
        SlackWorkspaces(f"http://127.0.0.1:{free_port()}/api/", BOT_TOKEN), auto_join=True
    )
    outcome = await dest.deliver(attempt({"channel": CHANNEL}), result())
    assert not outcome.ok and not outcome.permanent


async def test_an_uncertain_retry_in_a_channel_the_bot_left_joins_before_checking(
    fake: tuple[FakeSlack, ServerThread],
) -> None:
    slack, server = fake
    hooked = result(origin={"kind": "hook", "name": "h", "context": {}})
    assert (await destination(server).deliver(attempt({"channel": CHANNEL}), hooked)).ok
    slack.only_members_of(joinable=(CHANNEL,))  # someone removed the bot since
    again = await destination(server).deliver(
        attempt({"channel": CHANNEL}, n=2, uncertain=True), hooked
    )
    assert again.ok
    assert len(slack.posts(CHANNEL)) == 1
    assert len(slack.called("conversations.join")) == 1
