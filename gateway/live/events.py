"""Reading OneInbox's `transcript.partial` / `transcript.final` events tolerantly.

Their payload beyond `event` and `call_id` is not documented. The reader accepts the shapes a
speech pipeline commonly sends (`role` or `speaker`; `content`, `text` or `transcript`; a turn
number under a few names; the text either flat or nested under `message`/`data`) and never
fails on anything else: an event without usable text is still a hint that the call is live.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

TRANSCRIPT_EVENTS = frozenset({"transcript.partial", "transcript.final"})
MAX_TEXT = 20_000  # a turn longer than this is clipped (Slack and pages could not show it anyway)
_ROLE_KEYS = ("role", "speaker", "participant", "from")
_TEXT_KEYS = ("content", "text", "transcript", "utterance", "message")
_TURN_KEYS = ("turn", "turn_index", "turn_id", "message_index", "index", "sequence", "seq")
_NESTED_KEYS = ("message", "data", "transcript", "payload")
_ROLES = {
    "assistant": "agent",
    "agent": "agent",
    "bot": "agent",
    "ai": "agent",
    "user": "user",
    "customer": "user",
    "caller": "user",
    "human": "user",
}


@dataclass(frozen=True)
class TranscriptEvent:
    """What a transcript event says, as far as it can be read."""

    call_id: str
    final: bool
    role: str | None
    text: str | None
    turn: int | None

    @property
    def has_text(self) -> bool:
        """False when the event carried no readable text (the call record's messages then tell)."""
        return bool(self.text)


def is_transcript_event(name: str) -> bool:
    """True for `transcript.partial` and `transcript.final`."""
    return name in TRANSCRIPT_EVENTS


def parse_transcript_event(payload: dict[str, Any]) -> TranscriptEvent:
    """Read a transcript event; never raises on unknown or missing fields."""
    scopes = [payload]
    for key in _NESTED_KEYS:
        nested = payload.get(key)
        if isinstance(nested, dict):
            scopes.append(nested)
    return TranscriptEvent(
        call_id=str(payload.get("call_id") or ""),
        final=_is_final(payload),
        role=_role(scopes),
        text=_text(scopes),
        turn=_turn(scopes),
    )


def normalise_role(value: object) -> str | None:
    """`assistant`/`bot`/`agent` → `agent`, `user`/`customer`/`caller` → `user`, else as sent."""
    if not isinstance(value, str) or not value.strip():
        return None
    role = value.strip().lower()[:32]
    return _ROLES.get(role, role)


def _is_final(payload: dict[str, Any]) -> bool:
    if payload.get("event") == "transcript.final":
        return True
    flag = payload.get("is_final", payload.get("final"))
    return flag is True


def _role(scopes: list[dict[str, Any]]) -> str | None:
    for scope in scopes:
        for key in _ROLE_KEYS:
            role = normalise_role(scope.get(key))
            if role is not None:
                return role
    return None


def _text(scopes: list[dict[str, Any]]) -> str | None:
    for scope in scopes:
        for key in _TEXT_KEYS:
            value = scope.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()[:MAX_TEXT]
    return None


def _turn(scopes: list[dict[str, Any]]) -> int | None:
    for scope in scopes:
        for key in _TURN_KEYS:
            value = scope.get(key)
            if isinstance(value, bool):
                continue
            if isinstance(value, int) and 0 <= value < 100_000:
                return value
            if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 6:
                return int(value)
    return None
