"""Canned but varied transcripts and analyses, the same for the same call id and seed."""

from __future__ import annotations

import random
from dataclasses import dataclass

OUTCOMES: tuple[str | None, ...] = (
    "Appointment Booked",
    "Interested",
    "Not Interested",
    "Voicemail",
    "Not Connected",
    None,
)

_SCRIPTS: dict[str | None, list[tuple[str, str]]] = {
    "Appointment Booked": [
        ("agent", "Hi {name}! Thanks for taking the call. Shall we find a time for a demo?"),
        ("user", "Yes, Thursday afternoon works for me."),
        ("agent", "Great, I have booked Thursday at 3 pm. You will get an invite shortly."),
        ("user", "Perfect, thank you."),
    ],
    "Interested": [
        ("agent", "Hi {name}! How can I help?"),
        ("user", "I have a question about my order."),
        ("agent", "Of course. It shipped yesterday; I can send you the tracking link."),
        ("user", "Yes please, and tell me more about the premium plan."),
    ],
    "Not Interested": [
        ("agent", "Hi {name}! I am calling about our new plan."),
        ("user", "Thanks, but I am not interested."),
        ("agent", "Understood. Have a good day!"),
    ],
    "Voicemail": [
        ("agent", "Hi {name}, sorry I missed you. Please call us back when convenient."),
    ],
    "Not Connected": [
        ("agent", "Hello? Is anyone there?"),
    ],
    None: [
        ("agent", "Hi {name}!"),
        ("user", "Hm."),
    ],
}

_SUMMARIES: dict[str | None, str] = {
    "Appointment Booked": "{name} agreed to a demo; booked for Thursday at 3 pm.",
    "Interested": "{name} asked about an order and the premium plan; tracking link sent.",
    "Not Interested": "{name} declined the offer politely.",
    "Voicemail": "Reached voicemail; left a call-back message.",
    "Not Connected": "Nobody answered; the call did not connect.",
    None: "The call was too short to tell.",
}


@dataclass(frozen=True)
class CannedAnalysis:
    """What the simulator writes onto a call once its analysis is ready."""

    messages: list[dict[str, str]]
    outcome: str | None
    summary: str


def canned_analysis(
    call_id: str,
    *,
    seed: int,
    joined: bool,
    variables: dict[str, object] | None,
    outcome: str | None = None,
) -> CannedAnalysis:
    """A deterministic transcript and analysis for ``call_id``.

    A call nobody joined is always ``Not Connected`` with no messages.
    """
    if not joined:
        return CannedAnalysis(
            messages=[], outcome="Not Connected", summary=_SUMMARIES["Not Connected"]
        )
    rng = random.Random(f"{seed}:{call_id}")
    picked = rng.choice(OUTCOMES)
    outcome = outcome if outcome in _SCRIPTS else picked
    name = str((variables or {}).get("customer_name") or "there")
    script = _SCRIPTS[outcome]
    turns = script[: rng.randint(max(1, len(script) - 1), len(script))]
    messages = [{"role": role, "content": text.format(name=name)} for role, text in turns]
    return CannedAnalysis(
        messages=messages, outcome=outcome, summary=_SUMMARIES[outcome].format(name=name)
    )
