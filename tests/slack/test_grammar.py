"""The `/voice` grammar: every form parses to its command; every mistake shows its usage."""

from __future__ import annotations

import pytest

from integrations.slack import grammar
from integrations.slack.grammar import (
    AgentCreateCommand,
    AgentsCommand,
    AgentSetCommand,
    CallCommand,
    DialCommand,
    HelpCommand,
    PromptCommand,
    StatusCommand,
    StopCommand,
    UsageError,
)

GOOD = [
    ("", HelpCommand()),
    ("help", HelpCommand()),
    ("HELP", HelpCommand()),
    ("call sales", CallCommand("sales")),
    ('call sales customer_name="Ada"', CallCommand("sales", {"customer_name": "Ada"})),
    (
        "call sales customer_name=\u201cAda Lovelace\u201d city='New York'",
        CallCommand("sales", {"customer_name": "Ada Lovelace", "city": "New York"}),
    ),
    ("call sales name=O\u2019Brien", CallCommand("sales", {"name": "O\u2019Brien"})),
    ("call sales note=\u2018hi there\u2019", CallCommand("sales", {"note": "hi there"})),
    ("call café ville=Zürich mood=🎉", CallCommand("café", {"ville": "Zürich", "mood": "🎉"})),
    ('call "Sales Team" x=1', CallCommand("Sales Team", {"x": "1"})),
    ("call agt_123 empty=", CallCommand("agt_123", {"empty": ""})),
    (
        "call sales site=<https://a.example/x|a.example>",
        CallCommand("sales", {"site": "https://a.example/x"}),
    ),
    ("call sales q=&lt;b&gt;&amp;", CallCommand("sales", {"q": "<b>&"})),
    ("stop call_42", StopCommand("call_42")),
    ("status call_42", StatusCommand("call_42")),
    ("agents", AgentsCommand()),
    ("agent create", AgentCreateCommand(None)),
    ("agent create bob", AgentCreateCommand("bob")),
    (
        'agent create "Bob B" first_message="Hello there" enable_recording=yes '
        "max_duration_seconds=300 tts.voice_id=v1 end_call_phrases=bye,ciao",
        AgentCreateCommand(
            "Bob B",
            {
                "first_message": "Hello there",
                "enable_recording": True,
                "max_duration_seconds": 300,
                "tts": {"voice_id": "v1"},
                "end_call_phrases": ["bye", "ciao"],
            },
        ),
    ),
    (
        "agent set bob interruption_sensitivity=0.4",
        AgentSetCommand("bob", {"interruption_sensitivity": 0.4}),
    ),
    ("prompt bob Be kind.", PromptCommand("bob", "Be kind.")),
    (
        "prompt bob Don't be rude, it's \"rude\".",
        PromptCommand("bob", "Don't be rude, it's \"rude\"."),
    ),
    ("prompt bob temperature=0.3 Be brief", PromptCommand("bob", "Be brief", 0.3)),
    ('prompt bob "Be brief" temperature=1.5', PromptCommand("bob", "Be brief", 1.5)),
    ("prompt bob Réponds en français 🇫🇷", PromptCommand("bob", "Réponds en français 🇫🇷")),
    ("dial sales +1 212 555 0199", DialCommand("sales", "+1 212 555 0199")),
    (
        'dial sales "(415) 555-0123" customer_name=Ada',
        DialCommand("sales", "(415) 555-0123", {"customer_name": "Ada"}),
    ),
    (
        "dial sales <tel:+12125550199|+1 212 555 0199> x=1",
        DialCommand("sales", "+12125550199", {"x": "1"}),
    ),
    ("dial sales banana", DialCommand("sales", "banana")),  # the handler says it is no number
    (
        "dial sales +12125550199 live=yes a=1",
        DialCommand("sales", "+12125550199", {"a": "1"}, True),
    ),
]


@pytest.mark.parametrize(("text", "expected"), GOOD, ids=[t or "(empty)" for t, _ in GOOD])
def test_each_form_parses_to_its_command(text: str, expected: grammar.Command) -> None:
    assert grammar.parse(text) == expected


# (text, a piece of the message, the usage key whose line must be shown; None = full help)
MISTAKES = [
    ("dial sales", "Which number should I dial?", "dial"),
    ("dial", "Which agent should make the call?", "dial"),
    ("dial sales +1 212 x=1 555", "`555` is not key=value", "dial"),
    ("frobnicate", "I don't know `frobnicate`", None),
    ("call", "Which agent", "call"),
    ("call x=1", "Which agent", "call"),
    ("call sales Ada", "`Ada` is not key=value", "call"),
    ("call sales 1x=2", "not a valid key", "call"),
    ("call sales a=1 a=2", "given twice", "call"),
    ('call sales name="Ada', "no closing quotation", "call"),
    ("stop", "Which call", "stop"),
    ("stop a b", "exactly one call id", "stop"),
    ("status", "Which call", "status"),
    ("status a b", "exactly one call id", "status"),
    ("agents please", "takes nothing", "agents"),
    ("agent", "needs `create` or `set`", None),
    ("agent delete bob", "needs `create` or `set`", None),
    ("agent create x=1", "name first", "agent create"),
    ("agent create bob colour=red", "`colour` is not an agent field", "agent create"),
    ("agent create bob enable_recording=maybe", "true or false", "agent create"),
    ("agent create bob max_duration_seconds=long", "must be a number", "agent create"),
    ("agent create bob interruption_sensitivity=3", "out of range", "agent create"),
    ("agent create bob first_message=", "needs a value", "agent create"),
    ("agent set", "Which agent", "agent set"),
    ("agent set bob", "key=value", "agent set"),
    ("agent set x=1", "Which agent", "agent set"),
    ("agent set bob language", "not key=value", "agent set"),
    ("prompt", "Which agent", "prompt"),
    ("prompt bob", "system prompt", "prompt"),
    ("prompt bob temperature=0.5", "system prompt", "prompt"),
    ("prompt bob temperature=hot Be kind", "must be a number", "prompt"),
    ("prompt bob temperature=3 Be kind", "between 0 and 2", "prompt"),
    ("prompt temperature=1 Be kind", "Which agent", "prompt"),
]


@pytest.mark.parametrize(("text", "message", "usage"), MISTAKES, ids=[m[0] for m in MISTAKES])
def test_each_mistake_gets_its_usage_message(text: str, message: str, usage: str | None) -> None:
    with pytest.raises(UsageError) as caught:
        grammar.parse(text)
    answer = caught.value.text("/voice")
    assert message in answer
    if usage is None:
        assert "/voice call <agent>" in answer and "/voice help" in answer  # the full help
    else:
        assert f"Usage: `/voice {grammar.USAGE[usage]}`" in answer


def test_usage_names_the_configured_command() -> None:
    with pytest.raises(UsageError) as caught:
        grammar.parse("call")
    assert "Usage: `/calls call <agent>" in caught.value.text("/calls")
