"""Transcript events are read tolerantly, whatever shape their undocumented payload has."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.live.events import is_transcript_event, parse_transcript_event

FIXTURES = Path(__file__).parent / "fixtures"


def load(name: str) -> dict[str, object]:
    return dict(json.loads((FIXTURES / name).read_text()))


@pytest.mark.parametrize(
    ("fixture", "final", "role", "text", "turn"),
    [
        ("partial_flat.json", False, "agent", "Hi Ada, thanks for", None),
        ("final_nested.json", True, "user", "Yes, Thursday works.", 3),
        ("partial_no_text.json", False, None, None, None),
        ("partial_is_final_flag.json", True, "agent", "Great.", 7),
    ],
)
def test_each_payload_shape_is_read(
    fixture: str, final: bool, role: str | None, text: str | None, turn: int | None
) -> None:
    event = parse_transcript_event(load(fixture))
    assert event.call_id == "call_1"
    assert (event.final, event.role, event.text, event.turn) == (final, role, text, turn)
    assert event.has_text is (text is not None)


def test_strange_values_are_ignored_not_fatal() -> None:
    event = parse_transcript_event(
        {"event": "transcript.partial", "call_id": 5, "role": 3, "text": ["x"], "turn": -1}
    )
    assert (event.call_id, event.role, event.text, event.turn) == ("5", None, None, None)
    assert is_transcript_event("transcript.final") and not is_transcript_event("call.ended")
