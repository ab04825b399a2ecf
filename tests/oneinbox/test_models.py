"""The typed models accept what OneInbox documents, and tolerate what it does not."""

from __future__ import annotations

from gateway.oneinbox import Call, CallPage, Webhook
from gateway.oneinbox.errors import parse_detail
from tests.simulator.harness import fixture


def test_a_completed_call_sample_parses() -> None:
    call = Call.model_validate(fixture("call-completed.json"))
    assert call.is_terminal and call.has_analysis
    assert call.outcome == "Interested" and call.summary and call.summary.startswith("Caller")
    assert [m.role for m in call.messages] == ["agent", "user"]
    assert call.duration_seconds == 45 and call.started_at and call.started_at.year == 2026
    assert call.model_extra == {"credits_used": 0.75, "cost_cents": None}


def test_missing_null_and_unknown_fields_are_tolerated() -> None:
    call = Call.model_validate(
        {
            "id": "5f0e8a9c-2a7b-4f36-9a0d-0c1c6b1f4e11",
            "status": "in_progress",
            "messages": None,
            "analysis": None,
            "started_at": "not a date",
            "brand_new_field": {"x": 1},
        }
    )
    assert not call.is_terminal and not call.has_analysis
    assert call.messages == [] and call.started_at is None and call.outcome is None
    assert (call.model_extra or {})["brand_new_field"] == {"x": 1}


def test_a_null_outcome_with_a_summary_counts_as_analysed() -> None:
    call = Call.model_validate(
        {"id": "call_1", "status": "failed", "analysis": {"outcome": None, "summary": "Short."}}
    )
    assert call.is_terminal and call.has_analysis and call.outcome is None
    legacy = Call.model_validate({"id": "call_2", "status": "completed", "ai_summary": "Done."})
    assert legacy.has_analysis and legacy.summary == "Done."


def test_pages_and_webhooks_tolerate_missing_lists() -> None:
    assert CallPage.model_validate({"items": None}).items == []
    hook = Webhook.model_validate({"id": "wh_1", "events": None, "secret": "whsec_abc"})
    assert hook.events == [] and "whsec_abc" not in repr(hook)


def test_error_details_are_read_defensively() -> None:
    assert parse_detail('{"detail": "Agent not found"}') == "Agent not found"
    many = '{"detail": [{"loc": ["body", "temperature"], "msg": "too hot"}, {"msg": "also"}]}'
    assert parse_detail(many) == "temperature: too hot; also"
    assert parse_detail('{"error": {"code": "X", "message": "nope"}}') == "nope"
    assert parse_detail('{"message": "plain"}') == "plain"
    assert parse_detail("<html>502 Bad Gateway</html>") is None
    assert parse_detail('["a list"]') is None
    assert parse_detail('{"detail": null}') is None
