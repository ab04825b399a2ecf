"""A call's result as the text of a CRM object: HTML for HubSpot and Pipedrive bodies,
plain text for fields that take no markup (a Salesforce `Description`).

Each ends with the call's `marker`, which is how a write-back finds its own object again.
Values are escaped: a transcript is what a caller said, never markup. A phone call's text
names the number dialled in full: the CRM owns the record (mask it with `redact = ["phone"]`
on the `notify` entry if it should not).
"""

from __future__ import annotations

from html import escape

from gateway.calls.result import CallResult
from gateway.delivery.crm.once import marker

TRANSCRIPT_LIMIT = 50_000  # characters; CRMs cap long text (HubSpot bodies at 65,536)


def outcome_words(result: CallResult) -> str:
    """The outcome in words (`Interested`), else the call's status (`completed`)."""
    return result.outcome or result.status


def duration_words(seconds: float | None) -> str:
    """`3 min 05 s`, `42 s`, or `unknown`."""
    if seconds is None:
        return "unknown"
    whole = round(seconds)
    minutes, rest = divmod(whole, 60)
    return f"{minutes} min {rest:02d} s" if minutes else f"{rest} s"


def title(result: CallResult) -> str:
    """One line for a subject or title: `Voice call (Sales bot): Interested`."""
    agent = f" ({result.agent_name})" if result.agent_name else ""
    return f"Voice call{agent}: {outcome_words(result)}"


def phone_words(result: CallResult) -> str | None:
    """`+14155550123 (from +14155550100)` for a phone call, None for a web call."""
    if result.type != "outbound":
        return None
    to = result.to_number or "unknown number"
    return f"{to} (from {result.from_number})" if result.from_number else to


def _transcript_lines(result: CallResult) -> list[tuple[str, str]]:
    lines: list[tuple[str, str]] = []
    used = 0
    for message in result.messages:
        used += len(message.content)
        if used > TRANSCRIPT_LIMIT:
            lines.append(("", "(transcript shortened)"))
            break
        lines.append((message.role, message.content))
    return lines


def result_html(result: CallResult) -> str:
    """Outcome, summary, duration, recording link, transcript and the marker, as HTML."""
    parts = [
        f"<p><strong>{escape(title(result))}</strong></p>",
        f"<p><strong>Outcome:</strong> {escape(outcome_words(result))}</p>",
        f"<p><strong>Summary:</strong> {escape(result.summary or 'no summary')}</p>",
        f"<p><strong>Duration:</strong> {duration_words(result.duration_seconds)}</p>",
    ]
    phone = phone_words(result)
    if phone:
        parts.append(f"<p><strong>Phone call to:</strong> {escape(phone)}</p>")
    if result.recording_url:
        url = escape(result.recording_url, quote=True)
        parts.append(f'<p><strong>Recording:</strong> <a href="{url}">{url}</a></p>')
    lines = _transcript_lines(result)
    if lines:
        parts.append("<p><strong>Transcript</strong></p>")
        parts.extend(
            f"<p>{escape(role.capitalize())}: {escape(text)}</p>" if role else f"<p>{text}</p>"
            for role, text in lines
        )
    parts.append(f"<p>OneInbox call {escape(marker(result.call_id))}</p>")
    return "".join(parts)


def result_text(result: CallResult) -> str:
    """The same content as plain text."""
    parts = [
        title(result),
        f"Outcome: {outcome_words(result)}",
        f"Summary: {result.summary or 'no summary'}",
        f"Duration: {duration_words(result.duration_seconds)}",
    ]
    phone = phone_words(result)
    if phone:
        parts.append(f"Phone call to: {phone}")
    if result.recording_url:
        parts.append(f"Recording: {result.recording_url}")
    lines = _transcript_lines(result)
    if lines:
        parts.append("")
        parts.append("Transcript")
        parts.extend(f"{role.capitalize()}: {text}" if role else text for role, text in lines)
    parts.append("")
    parts.append(f"OneInbox call {marker(result.call_id)}")
    return "\n".join(parts)
