"""`/voice call` over a Slack user's daily limit: a clear answer, and nothing started."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

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
        lambda: [r for r in rig.responses() if "Nothing was started" in r.get("text", "")],
        what="the refusal",
    )[0]
    text = refusal["text"]
    assert "You have used your 2 calls for today" in text
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
