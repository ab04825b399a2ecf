"""Channels the bot is not in, and Slack rate limits, while answering `/voice call`."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.slack.conftest import SlackRig, make_rig
from tests.support.fake_slack import BOT_USER
from tests.support.servers import wait_until

CHANNEL = "C0GENERAL"


def test_bot_joins_a_public_channel_it_is_not_in_and_posts_the_card(rig: SlackRig) -> None:
    rig.fake.only_members_of(joinable=(CHANNEL,))
    rig.command("call sales")
    card = wait_until(lambda: rig.fake.posts(CHANNEL), timeout=20, what="card")[0]
    assert [c.args["channel"] for c in rig.fake.called("conversations.join")] == [CHANNEL]
    assert [c.method for c in rig.fake.calls if c.method.startswith("chat.")] == [
        "chat.postMessage",
        "chat.postMessage",
    ]
    wait_until(lambda: [c for c in rig.stored_calls() if c.origin_context.get("card")])
    assert card["metadata"]["event_type"] == "oneinbox_call_card"


def test_private_channel_gets_the_card_via_response_url_and_an_invite_hint(rig: SlackRig) -> None:
    rig.fake.only_members_of()  # in no channel, may join none (private channel, DM)
    rig.command("call sales", channel_id="G0PRIVATE")
    answers = wait_until(lambda: len(rig.responses()) >= 2 and rig.responses(), timeout=20)
    card, hint = answers
    assert card["response_type"] == "in_channel"
    assert any(b["type"] == "actions" for b in card["blocks"])
    assert hint["response_type"] == "ephemeral"
    assert f"/invite <@{BOT_USER}>" in hint["text"]
    assert rig.fake.posts() == []
    (call,) = rig.stored_calls()
    assert call.destinations[0]["config"]["thread_ts"] is None  # the result still has a home


@pytest.fixture
def no_join_rig(tmp_path: Path) -> Iterator[SlackRig]:
    yield from make_rig(tmp_path, extra_config="\n[slack]\nauto_join = false\n")


def test_without_auto_join_a_public_channel_is_answered_via_response_url(
    no_join_rig: SlackRig,
) -> None:
    rig = no_join_rig
    rig.fake.only_members_of(joinable=(CHANNEL,))
    rig.command("call sales")
    card, hint = wait_until(lambda: len(rig.responses()) >= 2 and rig.responses(), timeout=20)
    assert card["response_type"] == "in_channel" and "/invite" in hint["text"]
    assert rig.fake.called("conversations.join") == []


def test_rate_limited_card_is_posted_after_retry_after(rig: SlackRig) -> None:
    rig.fake.fail("chat.postMessage", "ratelimited", retry_after=1)
    rig.command("call sales")
    wait_until(lambda: rig.fake.posts(CHANNEL), timeout=20, what="card")
    first, second = rig.fake.called("chat.postMessage")
    assert second.at - first.at >= 0.9
    wait_until(lambda: [c for c in rig.stored_calls() if c.origin_context.get("card")])


def test_slow_oneinbox_still_acks_within_a_second(rig: SlackRig) -> None:
    rig.sim("PATCH", "/_sim/config", json={"latency_seconds": 2.5})
    for _ in range(3):
        started = time.monotonic()
        assert rig.command("call sales").status_code == 200
        assert time.monotonic() - started < 1.0
    wait_until(lambda: len(rig.fake.posts(CHANNEL)) == 3, timeout=30, what="three cards")


@pytest.fixture
def narrow_rig(tmp_path: Path) -> Iterator[SlackRig]:
    yield from make_rig(
        tmp_path, extra_config="\n[slack]\nmax_concurrent_work = 1\nmax_waiting_work = 1\n"
    )


def test_past_its_backlog_the_gateway_turns_commands_away_and_starts_nothing_for_them(
    narrow_rig: SlackRig,
) -> None:
    rig = narrow_rig
    rig.sim("PATCH", "/_sim/config", json={"latency_seconds": 1.5})
    first = rig.command("call sales")  # being worked on
    wait_until(lambda: rig.sim("GET", "/_sim/stats").json()["total"] >= 1, what="first upstream")
    second = rig.command("call sales")  # waits its turn
    third = rig.command("call sales")  # turned away
    assert "Starting a call" in first.text and "Starting a call" in second.text
    assert "nothing was started" in third.text
    assert "drives OneInbox" in rig.command("help").text  # help is always answered
    wait_until(lambda: len(rig.fake.posts(CHANNEL)) == 2, timeout=30, what="two cards")
    time.sleep(0.3)
    assert len(rig.stored_calls()) == 2
    assert "Starting a call" in rig.command("call sales").text  # room again


def test_a_call_gives_its_turn_back_once_started_so_a_slow_card_holds_up_no_other_start(
    narrow_rig: SlackRig,
) -> None:
    rig = narrow_rig  # one start in flight at a time
    rig.fake.hold_cards = True  # Slack takes the cards but does not answer
    try:
        for n in (1, 2, 3):
            assert "Starting a call" in rig.command("call sales").text
            wait_until(lambda n=n: rig.upstream_calls() == n, timeout=30, what=f"start {n}")
        assert not [c for c in rig.stored_calls() if c.origin_context.get("card")]
    finally:
        rig.fake.hold_cards = False
    wait_until(
        lambda: len([c for c in rig.stored_calls() if c.origin_context.get("card")]) == 3,
        timeout=30,
        what="each call pointed at its card",
    )


def test_when_slack_refuses_the_card_it_still_reaches_the_user_via_response_url(
    rig: SlackRig,
) -> None:
    rig.fake.fail("chat.postMessage", "internal_error")
    rig.command("call sales")
    (card,) = wait_until(rig.responses, timeout=20, what="card via response_url")
    assert card["response_type"] == "in_channel"
    assert any(b["type"] == "actions" for b in card["blocks"])
    assert rig.fake.posts() == []
