"""`/voice call` over a Slack user's daily limit: a clear answer, and nothing started."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.limits.policy import LimitReached
from integrations.slack.limits import limit_message
from tests.slack.conftest import SlackRig, make_rig
from tests.slack.signing import command_body, signed_headers
from tests.support.servers import wait_until

CHANNEL = "C0GENERAL"
LIMITS = """
[limits]
calls_per_slack_user_per_day = 2
"""


@pytest.fixture
def limited_rig(tmp_path: Path) -> Iterator[SlackRig]:
    yield from make_rig(tmp_path, extra_config=LIMITS)


def call_as(rig: SlackRig, user: str) -> None:
    body = command_body("call sales", response_url=rig.response_url, user_id=user)
    assert rig.post(body, signed_headers(body)).status_code == 200


def test_the_third_call_of_a_user_in_a_day_is_refused_with_a_clear_message(
    limited_rig: SlackRig,
) -> None:
    rig = limited_rig
    for expected in (1, 2):
        call_as(rig, "U0ADA")
        wait_until(lambda n=expected: len(rig.fake.posts(CHANNEL)) == n, what=f"card {expected}")

    call_as(rig, "U0ADA")

    refusal = wait_until(
        lambda: [r for r in rig.responses() if "so nothing was started" in r.get("text", "")],
        what="the refusal",
    )[0]
    text = refusal["text"]
    assert text.startswith("You have used your 2 calls for today")
    assert "`calls_per_slack_user_per_day`" in text
    # When it resets, in the reader's own time zone, with a readable fallback.
    assert re.search(
        r"It resets <!date\^\d+\^\{date_short_pretty\} at \{time\}\|\S+ 00:00 UTC>", text
    )
    assert refusal.get("response_type", "ephemeral") == "ephemeral"
    assert rig.upstream_calls() == 2
    assert len(rig.stored_calls()) == 2
    assert len(rig.fake.posts(CHANNEL)) == 2

    # Another user still has all of theirs.
    call_as(rig, "U0GRACE")
    wait_until(lambda: len(rig.fake.posts(CHANNEL)) == 3, what="Grace's card")
    assert rig.upstream_calls() == 3


@pytest.mark.parametrize(
    ("reached", "expected"),
    [
        (
            LimitReached(
                limit="phone_calls_per_slack_user_per_day",
                scope="slack_user",
                subject="T1/U1",
                allowed=3,
                resets_at=datetime(2026, 3, 11, tzinfo=UTC),
                retry_after=60,
            ),
            "You have used your 3 phone calls for today (limit "
            "`phone_calls_per_slack_user_per_day`), so nothing was started. It resets "
            "<!date^1773187200^{date_short_pretty} at {time}|2026-03-11 00:00 UTC>.",
        ),
        (
            LimitReached(
                limit="calls_per_day",
                scope="gateway",
                subject="*",
                allowed=500,
                resets_at=datetime(2026, 3, 11, tzinfo=UTC),
                retry_after=60,
            ),
            "This gateway has used its 500 calls for today (limit `calls_per_day`), so nothing "
            "was started. It resets <!date^1773187200^{date_short_pretty} at {time}|"
            "2026-03-11 00:00 UTC>.",
        ),
        (
            LimitReached(
                limit="live_calls",
                scope="gateway",
                subject="*",
                allowed=25,
                resets_at=None,
                retry_after=60,
            ),
            "25 calls are running right now, the most this gateway allows at once (limit "
            "`live_calls`), so nothing was started. Try again when one has ended.",
        ),
    ],
)
def test_the_message_names_the_limit_and_when_it_resets(
    reached: LimitReached, expected: str
) -> None:
    assert limit_message(reached) == expected


@pytest.fixture
def phone_capped_rig(tmp_path: Path) -> Iterator[SlackRig]:
    caps = "\n[limits]\nphone_calls_per_slack_user_per_day = 1\ncalls_per_slack_user_per_day = 5\n"
    for running in make_rig(tmp_path, extra_config=caps):
        running.sim("PATCH", "/_sim/config", json={"phone_dial_seconds": 0.05})
        yield running


def dial_as(rig: SlackRig, user: str, number: str) -> None:
    body = command_body(f"dial sales {number}", response_url=rig.response_url, user_id=user)
    assert rig.post(body, signed_headers(body)).status_code == 200


def dials(rig: SlackRig) -> int:
    stats = rig.sim("GET", "/_sim/stats").json()
    return int(stats["by_endpoint"].get("POST /v1/calls", 0))


def test_a_users_daily_phone_cap_stops_the_next_dial_but_not_web_calls(
    phone_capped_rig: SlackRig,
) -> None:
    rig = phone_capped_rig
    dial_as(rig, "U0ADA", "+1 212 555 0199")
    wait_until(lambda: len(rig.fake.posts(CHANNEL)) == 1, what="the first dial's card")

    dial_as(rig, "U0ADA", "+1 212 555 0142")

    refusal = wait_until(
        lambda: [r for r in rig.responses() if "so nothing was started" in r.get("text", "")],
        what="the refusal",
    )[0]
    assert refusal["text"].startswith("You have used your 1 phone call for today")
    assert "`phone_calls_per_slack_user_per_day`" in refusal["text"]
    assert "0142" not in refusal["text"]
    assert dials(rig) == 1
    # Web calls have their own, higher, cap; another user may still dial.
    call_as(rig, "U0ADA")
    dial_as(rig, "U0GRACE", "+1 212 555 0177")
    wait_until(lambda: len(rig.fake.posts(CHANNEL)) == 3, what="the web call's and Grace's cards")
    assert dials(rig) == 2
