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

# Each outcome has a few conversations, each with the summary an analyst would write of it:
# everything a summary says is in its transcript. `{name}` is the customer's name as the agent
# says it ("there" without one); `{who}` is how a summary names them.
Script = tuple[tuple[tuple[str, str], ...], str]

_SCRIPTS: dict[str | None, tuple[Script, ...]] = {
    "Appointment Booked": (
        (
            (
                (
                    "agent",
                    "Hi {name}! Thanks for taking the call. Shall we find a time for a demo?",
                ),
                ("user", "Yes, Thursday afternoon works for me."),
                ("agent", "Great, I have booked Thursday at 3 pm. You will get an invite shortly."),
                ("user", "Perfect, thank you."),
            ),
            "{who} agreed to a demo, booked for Thursday at 3 pm; an invite is on its way.",
        ),
        (
            (
                ("agent", "Hi {name}, this is the clinic. Would you like to book your check-up?"),
                ("user", "Yes. Is Monday morning possible?"),
                ("agent", "Monday at 9:30 is free. Shall I book it?"),
                ("user", "Yes, please."),
                ("agent", "Done: Monday at 9:30. See you then!"),
            ),
            "{who} booked a check-up for Monday at 9:30.",
        ),
    ),
    "Interested": (
        (
            (
                ("agent", "Hi {name}! How can I help?"),
                ("user", "I have a question about my order, and about the premium plan."),
                ("agent", "Your order shipped yesterday; I will text you the tracking link."),
                ("agent", "The premium plan adds priority support. Shall I email the details?"),
                ("user", "Yes please, send them over."),
            ),
            "{who} asked about an order (shipped yesterday; tracking link to follow) and wants "
            "the premium plan's details by email.",
        ),
        (
            (
                ("agent", "Hi {name}! I am calling about the webinar you signed up for."),
                ("user", "Oh yes. I could not attend; is there a recording?"),
                ("agent", "There is. I will send it today, with the pricing sheet."),
                ("user", "Great, I will have a look."),
            ),
            "{who} missed the webinar and asked for its recording; it will be sent today with "
            "the pricing sheet.",
        ),
    ),
    "Not Interested": (
        (
            (
                ("agent", "Hi {name}! I am calling about our new plan."),
                ("user", "Thanks, but I am not interested."),
                ("agent", "Understood. Have a good day!"),
            ),
            "{who} declined the new plan politely.",
        ),
        (
            (
                ("agent", "Hi {name}! Do you have a minute to talk about your subscription?"),
                ("user", "No, I am happy with what I have. Please do not call again."),
                ("agent", "Of course, I will note that. Goodbye!"),
            ),
            "{who} is happy with the current subscription and asked not to be called again.",
        ),
    ),
    "Voicemail": (
        (
            (("agent", "Hi {name}, sorry I missed you. Please call us back when convenient."),),
            "Reached voicemail; left a message asking for a call back.",
        ),
    ),
    "Not Connected": (
        (
            (("agent", "Hello? Is anyone there?"),),
            "Nobody answered; the call did not connect.",
        ),
    ),
    None: (
        (
            (
                ("agent", "Hi {name}!"),
                ("user", "Hm."),
            ),
            "The call was too short to tell what {who_lower} wanted.",
        ),
    ),
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
        _, summary = _SCRIPTS["Not Connected"][0]
        return CannedAnalysis(messages=[], outcome="Not Connected", summary=summary)
    rng = random.Random(f"{seed}:{call_id}")
    picked = rng.choice(OUTCOMES)
    outcome = outcome if outcome is not None and outcome in _SCRIPTS else picked
    turns, summary = rng.choice(_SCRIPTS[outcome])
    given = str((variables or {}).get("customer_name") or "").strip()
    words = {
        "name": given or "there",
        "who": given or "The customer",
        "who_lower": given or "the customer",
    }
    messages = [{"role": role, "content": text.format(**words)} for role, text in turns]
    return CannedAnalysis(messages=messages, outcome=outcome, summary=summary.format(**words))
