"""The Task a result becomes, compared with a fixture; ids pick WhoId or WhatId."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.calls.result import CallResult, ResultMessage
from integrations.salesforce.task import call_task, is_record_id, relation_field

FIXTURES = Path(__file__).resolve().parents[2] / "integrations" / "salesforce" / "fixtures"


def load_result(name: str = "result-completed.json") -> CallResult:
    return CallResult.model_validate_json((FIXTURES / name).read_text())


def test_a_completed_call_becomes_the_task_in_the_fixture() -> None:
    task = call_task(load_result(), "0035g00000XyZabAAB", "[oneinbox:call_abc123]")
    assert task == json.loads((FIXTURES / "task-completed.json").read_text())


@pytest.mark.parametrize(
    ("record_id", "field"),
    [
        ("0035g00000XyZabAAB", "WhoId"),  # Contact
        ("00Q5g00000XyZabAAB", "WhoId"),  # Lead
        ("0015g00000XyZabAAB", "WhatId"),  # Account
        ("0065g00000XyZab", "WhatId"),  # Opportunity, 15-character id
        ("a015g00000XyZabAAB", "WhatId"),  # a custom object
    ],
)
def test_contacts_and_leads_are_who_anything_else_is_what(record_id: str, field: str) -> None:
    assert relation_field(record_id) == field
    task = call_task(load_result(), record_id, "m")
    assert task[field] == record_id
    assert {"WhoId", "WhatId"} & set(task) == {field}


def test_a_failed_call_without_analysis_says_so() -> None:
    result = load_result().model_copy(
        update={"status": "failed", "outcome": None, "summary": None, "messages": []}
    )
    task = call_task(result, "0035g00000XyZabAAB", "m")
    assert task["Subject"] == "Voice call: Failed"
    assert task["CallDisposition"] == "Failed"
    assert task["Description"].startswith("(no summary)")
    assert "Transcript" not in task["Description"]


def test_long_texts_are_cut_to_salesforce_s_limits() -> None:
    long = [ResultMessage(role="user", content="word " * 2000) for _ in range(10)]
    result = load_result().model_copy(update={"messages": long, "outcome": "x" * 400})
    task = call_task(result, "0035g00000XyZabAAB", "y" * 300)
    assert len(task["Description"]) == 32000 and task["Description"].endswith("[…]")
    assert len(task["Subject"]) == 255
    assert len(task["CallDisposition"]) == 255
    assert len(task["CallObject"]) == 255


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("0035g00000XyZab", True),
        ("0035g00000XyZabAAB", True),
        ("003", False),
        ("", False),
        ("0035g00000XyZab'A", False),
    ],
)
def test_record_ids_are_15_or_18_letters_and_digits(value: str, ok: bool) -> None:
    assert is_record_id(value) is ok
