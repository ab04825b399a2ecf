"""How CRM answers become delivery outcomes an admin understands (shared by every CRM)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from gateway.delivery.crm import AuthHint, failure, marker, rate_limit_wait, write_once
from gateway.delivery.registry import DeliveryAttempt

AUTH = AuthHint(
    "HubSpot", "HUBSPOT_ACCESS_TOKEN", "a private app token with crm.objects.contacts.write"
)


def answer(status: int, body: Any = None, **headers: str) -> httpx.Response:
    content = json.dumps(body).encode() if body is not None else b""
    return httpx.Response(status, content=content, headers=headers)


def test_a_refused_token_is_a_dead_letter_naming_the_variable_and_what_it_needs() -> None:
    body = {
        "status": "error",
        "message": "Authentication credentials not found.",
        "category": "INVALID_AUTHENTICATION",
    }
    outcome = failure(answer(401, body), what="contact 51", auth=AUTH)
    assert outcome.permanent and not outcome.ok
    assert outcome.error is not None
    assert "HUBSPOT_ACCESS_TOKEN" in outcome.error
    assert "crm.objects.contacts.write" in outcome.error
    assert "Authentication credentials not found." in outcome.error


def test_a_missing_scope_403_is_a_dead_letter_too() -> None:
    body = {
        "status": "error",
        "message": "This app hasn't been granted all required scopes",
        "category": "MISSING_SCOPES",
    }
    outcome = failure(answer(403, body), what="contact 51", auth=AUTH)
    assert outcome.permanent and outcome.status_code == 403


def test_a_deleted_record_is_a_dead_letter_not_retried_forever() -> None:
    body = {"status": "error", "message": "resource not found", "category": "OBJECT_NOT_FOUND"}
    outcome = failure(answer(404, body), what="contact 51", auth=AUTH)
    assert outcome.permanent
    assert outcome.error is not None and "contact 51 not found" in outcome.error


@pytest.mark.parametrize(
    ("headers", "body", "wait"),
    [
        ({"Retry-After": "7"}, {}, 7.0),
        (
            {
                "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
                "X-HubSpot-RateLimit-Remaining": "0",
            },
            {"policyName": "TEN_SECONDLY_ROLLING"},
            10.0,
        ),
        ({}, {"errorType": "RATE_LIMIT", "policyName": "DAILY"}, 3600.0),
        ({"x-ratelimit-reset": "2"}, {"success": False, "error": "Request over limit"}, 2.0),
        ({}, {}, None),
    ],
)
def test_a_rate_limit_waits_as_long_as_the_crm_asks(
    headers: dict[str, str], body: dict[str, Any], wait: float | None
) -> None:
    response = answer(429, body, **headers)
    assert rate_limit_wait(response) == wait
    outcome = failure(response, what="contact 51", auth=AUTH)
    assert not outcome.permanent and outcome.retry_after == wait


def test_server_errors_retry_and_other_refusals_are_dead_letters() -> None:
    assert not failure(answer(503, {}), what="x", auth=AUTH).permanent
    bad = failure(answer(400, {"message": "Property values were not valid"}), what="x", auth=AUTH)
    assert bad.permanent and bad.error is not None and "Property values were not valid" in bad.error


def test_markers_of_different_calls_never_contain_each_other() -> None:
    assert marker("call_1") not in marker("call_12")


def attempt(number: int, *, uncertain: bool) -> DeliveryAttempt:
    return DeliveryAttempt("dlv_1", "call_1", "k", {}, attempt=number, uncertain=uncertain)


@pytest.mark.parametrize(
    ("number", "uncertain", "looks"), [(1, False, False), (1, True, True), (2, False, True)]
)
async def test_write_once_looks_for_an_earlier_write_only_when_one_may_exist(
    number: int, uncertain: bool, looks: bool
) -> None:
    looked: list[bool] = []

    async def find() -> str | None:
        looked.append(True)
        return "earlier"

    async def create() -> str:
        return "new"

    found = await write_once(
        attempt(number, uncertain=uncertain), what="note", find=find, create=create
    )
    assert found == (("earlier", False) if looks else ("new", True))
    assert bool(looked) == looks
