"""Block Kit builders: pure functions from domain values to Slack message payloads.

Every builder returns `(text, blocks)`: `text` is the notification/fallback line Slack shows
where blocks cannot be rendered; `blocks` is what users see.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gateway.calls.result import CallResult, ResultMessage
from gateway.phone import mask

Block = dict[str, Any]
Message = tuple[str, list[Block]]

STOP_ACTION = "stop_call"
JOIN_ACTION = "join_call"
RESULT_EVENT = "oneinbox_call_result"  # message metadata event_type of a result message
INLINE_LINES = 6  # transcript lines shown inline; the rest is folded
CHUNK = 2800  # Slack's limit for a text object is 3000 characters
MAX_CHUNKS = 8

STATE_LABELS = {
    "starting": ":hourglass_flowing_sand: Starting…",
    "started": ":large_yellow_circle: Waiting for someone to join",
    "live": ":red_circle: Live",
    "stopping": ":black_square_for_stop: Stopping…",
    "ended": ":white_check_mark: Ended",
    "analyzed": ":white_check_mark: Ended",
    "delivered": ":white_check_mark: Ended",
    "failed": ":x: Failed",
    "expired": ":zzz: Nobody joined",
    "lost": ":grey_question: Lost",
}


# How a phone call nobody talked to ended, in words.
UNANSWERED = {
    "no_answer": "nobody answered",
    "busy": "the line was busy",
    "invalid_number": "the number was refused",
    "voicemail": "voicemail answered",
}


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def state_label(state: str) -> str:
    """A short, human label for a call state."""
    return STATE_LABELS.get(state, state.replace("_", " ").capitalize())


def phone_state_label(state: str, upstream_status: str | None) -> str:
    """The label of a phone call's state: dialling, ringing, on the phone, or as for web calls."""
    if state == "started":
        return ":telephone: Ringing…" if upstream_status == "initiated" else ":telephone: Dialling…"
    if state == "live":
        return ":red_circle: On the phone"
    if state == "expired":
        return ":zzz: Nobody answered"
    return state_label(state)


def format_duration(seconds: float | None) -> str:
    """`1 h 2 min`, `3 min 5 s`, `42 s`, or `unknown`."""
    if seconds is None:
        return "unknown"
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"


def who(kind: str, name: str, context: dict[str, Any]) -> str:
    """Who or what started a call, as mrkdwn: a Slack mention or the origin's name."""
    user_id = context.get("user_id")
    if kind == "slack" and isinstance(user_id, str) and user_id:
        return f"<@{user_id}>"
    labels = {"hook": "hook", "admin": "admin API", "dashboard": "dashboard"}
    return f"{labels.get(kind, kind)} `{escape(name)}`"


def call_card(
    *, call_id: str, agent_name: str, started_by: str, join_url: str, state: str = "started"
) -> Message:
    """The in-channel card of a running call: who, which agent, Join and Stop buttons, state."""
    agent = escape(agent_name)
    text = f"Voice call with {agent_name}, started by {started_by}"
    blocks: list[Block] = [
        _section(f":telephone_receiver: *Voice call with {agent}*\nStarted by {started_by}"),
        _context(f"{state_label(state)}  ·  Call `{escape(call_id)}`"),
        {
            "type": "actions",
            "block_id": "call_actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": JOIN_ACTION,
                    "text": {"type": "plain_text", "text": "Join call", "emoji": True},
                    "url": join_url,
                    "style": "primary",
                },
                _stop_button(call_id),
            ],
        },
    ]
    return text, blocks


def phone_card(
    *, call_id: str, agent_name: str, started_by: str, to_number: str, state: str = "dialling"
) -> Message:
    """The in-channel card of a phone call: who, which agent, the number masked, Stop."""
    agent = escape(agent_name)
    number = mask(to_number) or "?"
    text = f"Phone call with {agent_name} to {number}, started by {started_by}"
    label = ":telephone: Dialling…" if state == "dialling" else state_label(state)
    blocks: list[Block] = [
        _section(
            f":telephone_receiver: *Phone call with {agent}* to `{number}`\nStarted by {started_by}"
        ),
        _context(f"{label}  ·  Call `{escape(call_id)}`"),
        {"type": "actions", "block_id": "call_actions", "elements": [_stop_button(call_id)]},
    ]
    return text, blocks


def _stop_button(call_id: str) -> Block:
    return {
        "type": "button",
        "action_id": STOP_ACTION,
        "text": {"type": "plain_text", "text": "Stop call", "emoji": True},
        "value": call_id,
        "style": "danger",
        "confirm": {
            "title": {"type": "plain_text", "text": "Stop this call?"},
            "text": {"type": "plain_text", "text": "The agent hangs up for everyone."},
            "confirm": {"type": "plain_text", "text": "Stop call"},
            "deny": {"type": "plain_text", "text": "Keep it"},
        },
    }


def _headline(result: CallResult) -> str:
    """`*Voice call with X*`, or `*Phone call with X* to `•••0199`` (never the whole number)."""
    agent = escape(result.agent_name or result.agent_id)
    if result.type == "outbound":
        return f"*Phone call with {agent}* to `{result.masked_to_number or '?'}`"
    return f"*Voice call with {agent}*"


def stopping_card(card: list[Block], call_id: str) -> list[Block]:
    """The card after its Stop button: state "Stopping…", the Stop button gone."""
    updated: list[Block] = []
    for block in card:
        if block.get("type") == "context":
            block = _context(f"{state_label('stopping')}  ·  Call `{escape(call_id)}`")
        elif block.get("type") == "actions":
            kept = [e for e in block.get("elements", []) if e.get("action_id") != STOP_ACTION]
            block = {**block, "elements": kept}
        updated.append(block)
    return updated


def ended_card(result: CallResult) -> Message:
    """The card once the call is over: no buttons, the duration and the outcome."""
    started_by = who(result.origin.kind, result.origin.name, result.origin.context)
    state = "failed" if result.status == "failed" else "ended"
    outcome = escape(result.outcome or "No outcome")
    duration = format_duration(result.duration_seconds)
    kind = "Phone call" if result.type == "outbound" else "Voice call"
    text = f"{kind} with {result.agent_name or result.agent_id} ended: {outcome}, {duration}"
    blocks: list[Block] = [
        _section(f":telephone_receiver: {_headline(result)}\nStarted by {started_by}"),
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*Duration*\n{duration}"},
                {"type": "mrkdwn", "text": f"*Outcome*\n{outcome}"},
            ],
        },
        _context(
            f"{state_label(state)}  ·  Call `{escape(result.call_id)}`"
            + (_end_reason(result.end_reason) if result.end_reason in UNANSWERED else "")
        ),
    ]
    return text, blocks


def result_message(result: CallResult) -> Message:
    """Summary, outcome and transcript of a finished call (thread reply or channel post)."""
    agent = escape(result.agent_name or result.agent_id)
    started_by = who(result.origin.kind, result.origin.name, result.origin.context)
    outcome = escape(result.outcome or "No outcome")
    summary = result.summary or (
        "_The analysis was not ready in time._" if result.analysis_missing else "_No summary._"
    )
    text = f"Call with {result.agent_name or result.agent_id}: {result.outcome or 'no outcome'}"
    blocks: list[Block] = [
        _section(f"*Call summary* · {agent}"),
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*Outcome*\n{outcome}"},
                {
                    "type": "mrkdwn",
                    "text": f"*Duration*\n{format_duration(result.duration_seconds)}",
                },
                {"type": "mrkdwn", "text": f"*Started by*\n{started_by}"},
                {"type": "mrkdwn", "text": f"*Agent*\n{agent}"},
            ],
        },
        _section(_clip(escape(summary) if result.summary else summary)),
        *transcript_blocks(result.messages),
        *recording_blocks(result.recording_url),
        _context(
            f"Call `{escape(result.call_id)}`"
            + (f"  ·  to `{result.masked_to_number}`" if result.type == "outbound" else "")
            + _end_reason(result.end_reason)
        ),
    ]
    return text, blocks


def recording_blocks(url: str | None) -> list[Block]:
    """A link to the recording (the gateway's own link, which stays valid; never upstream's)."""
    if not url:
        return []
    return [_section(f":studio_microphone: <{url}|Listen to the recording>")]


def transcript_blocks(messages: Sequence[ResultMessage]) -> list[Block]:
    """The first lines inline; the rest folded into a preformatted block Slack collapses."""
    if not messages:
        return []
    inline = "\n".join(
        f"*{_speaker(m.role)}:* {escape(m.content)}" for m in messages[:INLINE_LINES]
    )
    blocks: list[Block] = [{"type": "divider"}, _section(_clip(f"*Transcript*\n{inline}"))]
    rest = [f"{_speaker(m.role)}: {m.content}" for m in messages[INLINE_LINES:]]
    if rest:
        blocks.append(_context(f"{len(rest)} more line{'s' if len(rest) != 1 else ''}:"))
        chunks = _chunks("\n".join(rest))
        for chunk in chunks[:MAX_CHUNKS]:
            blocks.append(
                {
                    "type": "rich_text",
                    "elements": [
                        {
                            "type": "rich_text_preformatted",
                            "elements": [{"type": "text", "text": chunk}],
                        }
                    ],
                }
            )
        if len(chunks) > MAX_CHUNKS:
            blocks.append(_context("_The transcript is longer; the rest is in the gateway._"))
    return blocks


def result_metadata(call_id: str, delivery_id: str, *, recording: bool = False) -> dict[str, Any]:
    """Message metadata that marks a result message as ours, so it is never posted twice
    (`recording`: it shows the recording link, so a re-sent result knows to edit it)."""
    payload: dict[str, Any] = {"call_id": call_id, "delivery_id": delivery_id}
    if recording:
        payload["recording"] = True
    return {"event_type": RESULT_EVENT, "event_payload": payload}


def _speaker(role: str) -> str:
    return {"assistant": "Agent", "agent": "Agent", "bot": "Agent", "user": "Caller"}.get(
        role.lower(), role.capitalize() or "Unknown"
    )


def _end_reason(reason: str | None) -> str:
    if reason in UNANSWERED:
        return f"  ·  {UNANSWERED[reason]}"
    return f"  ·  ended by {escape(reason.replace('_', ' '))}" if reason else ""


def _chunks(text: str) -> list[str]:
    return [text[i : i + CHUNK] for i in range(0, len(text), CHUNK)]


def _clip(text: str) -> str:
    return text if len(text) <= CHUNK else text[: CHUNK - 1] + "…"


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def create_agent_modal(*, callback_id: str, private_metadata: str) -> dict[str, Any]:
    """The modal `agent create` opens when no name was given."""

    def text_input(key: str, label: str, *, optional: bool, multiline: bool = False) -> Block:
        return {
            "type": "input",
            "block_id": key,
            "optional": optional,
            "label": {"type": "plain_text", "text": label},
            "element": {
                "type": "plain_text_input",
                "action_id": key,
                "multiline": multiline,
            },
        }

    return {
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": private_metadata,
        "title": {"type": "plain_text", "text": "New voice agent"},
        "submit": {"type": "plain_text", "text": "Create"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            text_input("name", "Name", optional=False),
            text_input("first_message", "First message", optional=True, multiline=True),
            text_input("language", "Language (e.g. en, fr)", optional=True),
        ],
    }
