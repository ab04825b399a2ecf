"""The `Task` a finished call becomes on a Salesforce record: a pure function of the result.

A completed call Task (`TaskSubtype` Call, `Status` Completed) on the record: `WhoId` when the
id is a Contact (`003…`) or Lead (`00Q…`), `WhatId` for anything else (Account, Opportunity,
Case, custom objects). `CallObject` (Salesforce's "call object identifier", 255 characters,
filterable in SOQL) holds the gateway's marker of the call, so the destination can find its
own earlier write with one query before writing again after an uncertain try.
"""

from __future__ import annotations

import re
from typing import Any

from gateway.calls.result import CallResult
from gateway.delivery.crm import phone_words

WHO_PREFIXES = ("003", "00Q")  # Contact, Lead
RECORD_ID = re.compile(r"^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$")
SUBJECT_MAX = 255
DESCRIPTION_MAX = 32000
SHORT_MAX = 255  # CallDisposition, CallObject
CUT = "\n[…]"


def is_record_id(value: str) -> bool:
    """A 15- or 18-character Salesforce id (any object)."""
    return bool(RECORD_ID.match(value))


def relation_field(record_id: str) -> str:
    """`WhoId` for a Contact or Lead, `WhatId` for any other record."""
    return "WhoId" if record_id.startswith(WHO_PREFIXES) else "WhatId"


def call_task(result: CallResult, record_id: str, marker: str) -> dict[str, Any]:
    """The Task's fields for `result` on `record_id`, every text within Salesforce's limits."""
    outcome = result.outcome or ("Failed" if result.status == "failed" else "Completed")
    fields: dict[str, Any] = {
        relation_field(record_id): record_id,
        "Subject": _clip(f"Voice call: {outcome}", SUBJECT_MAX),
        "Description": task_description(result),
        "Status": "Completed",
        "TaskSubtype": "Call",
        "CallType": "Outbound",  # the CRM asked for the call: the gateway reached out
        "CallDisposition": _clip(outcome, SHORT_MAX),
        "CallObject": _clip(marker, SHORT_MAX),
    }
    if result.duration_seconds is not None:
        fields["CallDurationInSeconds"] = round(result.duration_seconds)
    when = result.ended_at or result.started_at
    if when is not None:
        fields["ActivityDate"] = when.date().isoformat()
    return fields


def task_description(result: CallResult) -> str:
    """The Task's `Description`: `description(result)` within Salesforce's limit."""
    return _clip(description(result), DESCRIPTION_MAX, CUT)


def description(result: CallResult) -> str:
    """Summary, outcome, details and transcript as plain text (the Comments field)."""
    parts = [result.summary or "(no summary)"]
    facts = [f"Outcome: {result.outcome or '-'}", f"Status: {result.status}"]
    if result.duration_seconds is not None:
        facts.append(f"Duration: {round(result.duration_seconds)} s")
    phone = phone_words(result)
    if phone:
        facts.append(f"Phone call to: {phone}")
    if result.end_reason:
        facts.append(f"Ended by: {result.end_reason.replace('_', ' ')}")
    if result.agent_name or result.agent_id:
        facts.append(f"Agent: {result.agent_name or result.agent_id}")
    if result.recording_url:
        facts.append(f"Recording: {result.recording_url}")
    facts.append(f"Call id: {result.call_id}")
    parts.append("\n".join(facts))
    if result.messages:
        lines = [f"{_speaker(m.role)}: {m.content}" for m in result.messages]
        parts.append("Transcript:\n" + "\n".join(lines))
    return "\n\n".join(parts)


def _speaker(role: str) -> str:
    return {"assistant": "Agent", "agent": "Agent", "bot": "Agent", "user": "Caller"}.get(
        role.lower(), role.capitalize() or "Unknown"
    )


def _clip(text: str, limit: int, tail: str = "…") -> str:
    return text if len(text) <= limit else text[: limit - len(tail)] + tail
