"""Signed but hostile Slack commands: answered with the usage, nothing sent anywhere."""

from __future__ import annotations

import pytest

from tests.hostile.rig import Rig
from tests.slack.signing import command_body, signed_headers


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("call sales note=" + "x" * 900_000, "too long"),
        ("agent set sales tts.speed=nan", "finite"),
        ("agent set sales tts.speed=inf", "finite"),
        ("agent set sales tts.stability=-Infinity", "finite"),
        ("agent set sales max_duration_seconds=1\u00b2", "must be a number"),
        ("agent set sales max_duration_seconds=" + "9" * 3900, "out of range"),
        ("agent set sales silence_timeout_seconds=99999999999", "out of range"),
        ("agent set sales interruption_sensitivity=1.5", "out of range"),
        ("prompt sales temperature=nan Be brief.", "temperature"),
        ("call 'sales", "could not read"),
    ],
    ids=[
        "900KB",
        "nan",
        "inf",
        "-inf",
        "superscript",
        "3900-digits",
        "huge",
        "over-1",
        "temp-nan",
        "quote",
    ],
)
def test_hostile_command_text_gets_the_usage_and_starts_nothing(
    rig: Rig, text: str, says: str
) -> None:
    before_rows, before_upstream = rig.rows(), rig.upstream_requests()
    rig.logs()
    body = command_body(text, response_url=rig.slack_response_url)
    answer = rig.request("POST", "/slack/events", content=body, headers=signed_headers(body))
    assert answer.status_code == 200, answer.text[:300]
    assert says in answer.text, answer.text[:300]
    assert rig.rows() == before_rows
    assert rig.upstream_requests() == before_upstream
    rig.assert_no_secret(answer.text)
    rig.assert_no_secret(rig.logs())
