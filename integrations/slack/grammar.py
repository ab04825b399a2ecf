"""The `/voice` command grammar: text in, one typed command out, or a `UsageError`.

Quoting is shell-like (`"…"` and `'…'`, also Slack's smart quotes), values are `key=value`,
names and values may be any unicode. A mistake raises `UsageError` carrying the message and the
usage line of the sub-command, so the user sees how to write it right; nothing is created.
"""

from __future__ import annotations

import html
import io
import math
import re
import shlex
from dataclasses import dataclass, field
from typing import Any

SMART_QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2018": "'"})
# A right single quote between letters is an apostrophe (O\u2019Brien), elsewhere it closes.
CLOSING_SINGLE = re.compile("(?<!\\w)\u2019|\u2019(?!\\w)")
# Slack wraps links and mentions: <https://x.y|label>, <mailto:a@b|a@b>, <@U123|name>.
SLACK_LINK = re.compile(r"<((?:https?|mailto):[^|>]+)(?:\|[^>]*)?>")
# A phone number some clients turn into a link: <tel:+12125550199|+1 212 555 0199>.
TEL_LINK = re.compile(r"<tel:([^|>]+)(?:\|[^>]*)?>")
KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?$")

USAGE = {
    "call": "call <agent> [live=yes] [key=value…]",
    "dial": "dial <agent> <phone number> [live=yes] [key=value…]",
    "stop": "stop <call id>",
    "status": "status <call id>",
    "agents": "agents",
    "agent create": "agent create <name> [key=value…]",
    "agent set": "agent set <agent> key=value…",
    "prompt": "prompt <agent> [temperature=0.7] <system prompt…>",
    "help": "help",
}
LIVE_HINT = (
    "`live=yes` shows the conversation in the call's thread while it runs (`live=no` turns "
    "it off where the workspace shows it by default); other `key=value` pairs become the "
    "call's variables."
)

# Documented agent fields (PATCH /v1/agents/{id}) and the type each value is read as.
AGENT_FIELDS: dict[str, type] = {
    "name": str,
    "language": str,
    "first_message": str,
    "transcriber.provider": str,
    "transcriber.model": str,
    "transcriber.language": str,
    "tts.provider": str,
    "tts.voice_id": str,
    "tts.speed": float,
    "tts.stability": float,
    "end_call_phrases": list,
    "silence_timeout_seconds": int,
    "max_duration_seconds": int,
    "interruption_sensitivity": float,
    "enable_recording": bool,
    "voicemail_detection": bool,
    "voicemail_message": str,
    "webhook_id": str,
}
TRUE = {"true", "yes", "on", "1"}
# Slack's own box takes a few thousand characters; shlex reads one character at a time, so a
# forged megabyte of text would keep a worker busy for seconds.
MAX_TEXT = 4000
MAX_NUMBER = 1_000_000_000  # no agent setting is anywhere near; keeps absurd values local
FALSE = {"false", "no", "off", "0"}


class UsageError(Exception):
    """The command is not right; `usage` is the line that shows how to write it."""

    def __init__(self, message: str, usage: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.usage = usage

    def text(self, command: str = "/voice") -> str:
        """The ephemeral answer: what went wrong and the right usage."""
        if self.usage is None:
            return f"{self.message}\n{help_text(command)}"
        return f"{self.message}\nUsage: `{command} {self.usage}`"


@dataclass(frozen=True)
class CallCommand:
    agent: str
    variables: dict[str, str] = field(default_factory=dict)
    live: bool | None = None  # `live=yes|no`: the transcript in the thread; None: the default


@dataclass(frozen=True)
class DialCommand:
    """An outbound phone call; `number` is as typed (the handler normalises it)."""

    agent: str
    number: str
    variables: dict[str, str] = field(default_factory=dict)
    live: bool | None = None  # as for `call`


@dataclass(frozen=True)
class StopCommand:
    call_id: str


@dataclass(frozen=True)
class StatusCommand:
    call_id: str


@dataclass(frozen=True)
class AgentsCommand:
    pass


@dataclass(frozen=True)
class AgentCreateCommand:
    name: str | None  # None: open a modal to ask for it
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AgentSetCommand:
    agent: str
    fields: dict[str, Any]


@dataclass(frozen=True)
class PromptCommand:
    agent: str
    text: str
    temperature: float | None = None


@dataclass(frozen=True)
class HelpCommand:
    pass


Command = (
    CallCommand
    | DialCommand
    | StopCommand
    | StatusCommand
    | AgentsCommand
    | AgentCreateCommand
    | AgentSetCommand
    | PromptCommand
    | HelpCommand
)


def help_text(command: str = "/voice") -> str:
    """Every sub-command, one a line."""
    lines = "\n".join(f"• `{command} {usage}`" for usage in USAGE.values())
    return f"*{command}* drives OneInbox voice agents:\n{lines}\n{LIVE_HINT}"


def normalize(text: str) -> str:
    """Undo Slack's escaping (&amp; &lt; &gt;, <link|label>) and straighten smart quotes."""
    text = SLACK_LINK.sub(lambda m: m.group(1), text)
    text = TEL_LINK.sub(lambda m: m.group(1), text)
    text = html.unescape(text).translate(SMART_QUOTES)
    return CLOSING_SINGLE.sub("'", text).strip()


class _Lexer:
    """shlex, one token at a time, so a sub-command can take the raw rest of the line."""

    def __init__(self, text: str, usage: str | None) -> None:
        self._stream = io.StringIO(text)
        self._lex = shlex.shlex(self._stream, posix=True)
        self._lex.whitespace_split = True
        self._lex.commenters = ""
        self._usage = usage

    def next(self) -> str | None:
        try:
            token = self._lex.get_token()
        except ValueError as exc:  # "No closing quotation", "No escaped character"
            raise UsageError(f"I could not read that: {str(exc).lower()}.", self._usage) from None
        return None if token is None or token == self._lex.eof else token

    def rest_tokens(self) -> list[str]:
        tokens: list[str] = []
        while (token := self.next()) is not None:
            tokens.append(token)
        return tokens

    def rest_raw(self) -> str:
        return self._stream.read()


def parse(text: str) -> Command:
    """Parse the text after the slash command; raise `UsageError` on any mistake."""
    if len(text) > MAX_TEXT:
        raise UsageError(f"That command is too long (at most {MAX_TEXT} characters).")
    text = normalize(text)
    head = text.split(maxsplit=1)
    verb = head[0].lower() if head else "help"
    if verb == "agent":
        sub = text.split(maxsplit=2)
        verb = f"agent {sub[1].lower()}" if len(sub) > 1 else "agent"
        if verb not in USAGE:
            raise UsageError("`agent` needs `create` or `set`.")
        text = sub[2] if len(sub) > 2 else ""
    else:
        text = head[1] if len(head) > 1 else ""
    if verb not in USAGE:
        raise UsageError(f"I don't know `{verb}`.")
    return _PARSERS[verb](_Lexer(text, USAGE[verb]), USAGE[verb])


def _parse_call(lex: _Lexer, usage: str) -> Command:
    agent = _required(lex.next(), "Which agent should take the call?", usage)
    _not_a_pair(agent, "Which agent should take the call?", usage)
    variables = _pairs(lex.rest_tokens(), usage)
    return CallCommand(agent=agent, variables=variables, live=_live(variables, usage))


def _live(variables: dict[str, str], usage: str) -> bool | None:
    """Take `live=yes|no` out of the pairs: an option of the command, never a prompt variable."""
    live = variables.pop("live", None)
    if live is not None and live.lower() not in TRUE | FALSE:
        raise UsageError(f"`live` must be yes or no, not `{live}`.", usage)
    return None if live is None else live.lower() in TRUE


def _parse_dial(lex: _Lexer, usage: str) -> Command:
    agent = _required(lex.next(), "Which agent should make the call?", usage)
    _not_a_pair(agent, "Which agent should make the call? Give its name or id first.", usage)
    tokens = lex.rest_tokens()
    # The number may be written with spaces (`+1 212 555 0199`): every word up to the first
    # key=value belongs to it.
    split = next((i for i, token in enumerate(tokens) if "=" in token), len(tokens))
    number = " ".join(tokens[:split]).strip()
    if not number:
        raise UsageError("Which number should I dial? Give it after the agent.", usage)
    variables = _pairs(tokens[split:], usage)
    return DialCommand(
        agent=agent, number=number, variables=variables, live=_live(variables, usage)
    )


def _parse_stop(lex: _Lexer, usage: str) -> Command:
    return StopCommand(call_id=_single(lex, "Which call? Give its id.", usage))


def _parse_status(lex: _Lexer, usage: str) -> Command:
    return StatusCommand(call_id=_single(lex, "Which call? Give its id.", usage))


def _parse_agents(lex: _Lexer, usage: str) -> Command:
    if lex.next() is not None:
        raise UsageError("`agents` takes nothing after it.", usage)
    return AgentsCommand()


def _parse_help(lex: _Lexer, usage: str) -> Command:
    return HelpCommand()


def _parse_agent_create(lex: _Lexer, usage: str) -> Command:
    name = lex.next()
    if name is None:
        return AgentCreateCommand(name=None)
    _not_a_pair(name, "Give the new agent's name first.", usage)
    return AgentCreateCommand(
        name=name, fields=agent_fields(_pairs(lex.rest_tokens(), usage), usage)
    )


def _parse_agent_set(lex: _Lexer, usage: str) -> Command:
    agent = _required(lex.next(), "Which agent?", usage)
    _not_a_pair(agent, "Which agent? Give its name or id first.", usage)
    pairs = _pairs(lex.rest_tokens(), usage)
    if not pairs:
        raise UsageError("Say what to change, as key=value.", usage)
    return AgentSetCommand(agent=agent, fields=agent_fields(pairs, usage))


def _parse_prompt(lex: _Lexer, usage: str) -> Command:
    agent = _required(lex.next(), "Which agent's prompt?", usage)
    _not_a_pair(agent, "Which agent's prompt? Give its name or id first.", usage)
    rest = lex.rest_raw().strip()
    temperature: float | None = None
    first, _, remainder = rest.partition(" ")
    if first.lower().startswith("temperature="):
        temperature, rest = _temperature(first, usage), remainder.strip()
    else:
        before, _, last = rest.rpartition(" ")
        if last.lower().startswith("temperature=") and before.strip():
            temperature, rest = _temperature(last, usage), before.strip()
    if len(rest) >= 2 and rest[0] == rest[-1] and rest[0] in "\"'":
        rest = rest[1:-1].strip()
    if not rest:
        raise UsageError("Give the system prompt after the agent.", usage)
    return PromptCommand(agent=agent, text=rest, temperature=temperature)


_PARSERS = {
    "call": _parse_call,
    "dial": _parse_dial,
    "stop": _parse_stop,
    "status": _parse_status,
    "agents": _parse_agents,
    "help": _parse_help,
    "agent create": _parse_agent_create,
    "agent set": _parse_agent_set,
    "prompt": _parse_prompt,
}


def _required(token: str | None, message: str, usage: str) -> str:
    if token is None or not token.strip():
        raise UsageError(message, usage)
    return token.strip()


def _not_a_pair(token: str, message: str, usage: str) -> None:
    if "=" in token:
        raise UsageError(message, usage)


def _single(lex: _Lexer, message: str, usage: str) -> str:
    value = _required(lex.next(), message, usage)
    if lex.next() is not None:
        raise UsageError("Give exactly one call id.", usage)
    return value


def _pairs(tokens: list[str], usage: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for token in tokens:
        key, sep, value = token.partition("=")
        if not sep:
            raise UsageError(f"`{token}` is not key=value.", usage)
        if not KEY.match(key):
            raise UsageError(f"`{key}` is not a valid key.", usage)
        if key in pairs:
            raise UsageError(f"`{key}` is given twice.", usage)
        pairs[key] = value
    return pairs


def _temperature(token: str, usage: str) -> float:
    raw = token.partition("=")[2]
    try:
        value = float(raw)
    except ValueError:
        raise UsageError(f"temperature must be a number, not `{raw}`.", usage) from None
    if not math.isfinite(value) or not 0 <= value <= 2:
        raise UsageError("temperature must be between 0 and 2.", usage)
    return value


def agent_fields(pairs: dict[str, str], usage: str) -> dict[str, Any]:
    """Documented agent fields, typed; dotted keys become nested objects (`tts.voice_id`)."""
    fields: dict[str, Any] = {}
    for key, raw in pairs.items():
        kind = AGENT_FIELDS.get(key)
        if kind is None:
            known = ", ".join(sorted(AGENT_FIELDS))
            raise UsageError(f"`{key}` is not an agent field. Known fields: {known}.", usage)
        value = _typed(key, raw, kind, usage)
        if "." in key:
            outer, inner = key.split(".", 1)
            fields.setdefault(outer, {})[inner] = value
        else:
            fields[key] = value
    return fields


def _typed(key: str, raw: str, kind: type, usage: str) -> Any:
    if kind is bool:
        if raw.lower() in TRUE | FALSE:
            return raw.lower() in TRUE
        raise UsageError(f"`{key}` must be true or false, not `{raw}`.", usage)
    if kind is list:
        return [part.strip() for part in raw.split(",") if part.strip()]
    if kind in (int, float):
        try:
            number = kind(raw)
        except ValueError:
            raise UsageError(f"`{key}` must be a number, not `{raw}`.", usage) from None
        if kind is float and not math.isfinite(number):  # an int is finite, however long
            raise UsageError(f"`{key}` must be a finite number, not `{raw}`.", usage)
        top = 1 if key == "interruption_sensitivity" else MAX_NUMBER
        if number < 0 or number > top:
            raise UsageError(f"`{key}` is out of range: `{raw}`.", usage)
        return number
    if not raw:
        raise UsageError(f"`{key}` needs a value.", usage)
    return raw
