"""The 202's `status_url` works for whoever started the call: no admin token, signed per call."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.support.hooks import PUBLIC, Gateway, gateway
from tests.support.servers import wait_until

HOOK = """
[agents.sales]
create = { first_message = "Hi!" }

[hooks.new-lead]
action = "start_web_call"
agent = "sales"
auth = { scheme = "bearer", token_env = "NEW_LEAD_TOKEN" }
variables = { customer_name = "body.firstname" }
"""
AUTH = {"Authorization": "Bearer lead-token-0123456789"}


def local(gw: Gateway, status_url: str) -> str:
    """The status link as the test reaches it (the public base is not on loopback)."""
    assert status_url.startswith(PUBLIC + "/status/")
    return gw.url + status_url.removeprefix(PUBLIC)


def start(gw: Gateway) -> dict[str, str]:
    response = gw.post("new-lead", json={"firstname": "Ada"}, headers=AUTH)
    assert response.status_code == 202, response.text
    body: dict[str, str] = response.json()
    return body


@pytest.fixture(autouse=True)
def hook_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEW_LEAD_TOKEN", "lead-token-0123456789")


def test_the_status_link_follows_the_call_to_its_outcome_without_a_token(tmp_path: Path) -> None:
    with gateway(tmp_path, HOOK) as gw:
        started = start(gw)
        url = local(gw, started["status_url"])
        first = httpx.get(url, timeout=10)
        assert first.status_code == 200, first.text
        assert first.headers["cache-control"] == "no-store"
        body = first.json()
        assert body["call_id"] == started["call_id"]
        assert body["state"] == "started" and body["over"] is False
        assert body["outcome"] is None and body["result_ready"] is False
        assert "messages" not in body and "join_url" not in body  # no transcript, no link

        call_id = started["call_id"]
        assert gw.sim("POST", f"/_sim/calls/{call_id}/join").status_code == 200
        script = {"outcome": "Interested", "summary": "Ada wants the pricing sheet."}
        assert gw.sim("POST", f"/_sim/calls/{call_id}/end", json=script).status_code == 200
        done = wait_until(
            lambda: (b := httpx.get(url, timeout=10).json())["result_ready"] and b,
            timeout=30,
            what="the result behind the status link",
        )
        assert done["over"] is True
        assert done["outcome"] == "Interested"
        assert done["summary"] == "Ada wants the pricing sheet."


def test_a_forged_or_borrowed_signature_gets_the_same_404_as_an_unknown_call(
    tmp_path: Path,
) -> None:
    with gateway(tmp_path, HOOK) as gw:
        first, second = start(gw), start(gw)
        signature = first["status_url"].rsplit("/", 1)[1]
        altered = signature[:-1] + ("B" if signature[-1] != "B" else "C")
        attempts = [
            f"/status/{second['call_id']}/{signature}",  # another call's signature
            f"/status/{first['call_id']}/{altered}",
            f"/status/{first['call_id']}/",  # none
            f"/status/call_unknown/{signature}",
        ]
        answers = [httpx.get(gw.url + path, timeout=10) for path in attempts]
        assert [a.status_code for a in answers] == [404, 404, 404, 404]
        coded = [
            a.json()["error"]["code"]
            for a in answers
            if a.headers["content-type"].startswith("application/json")
        ]
        assert set(coded) <= {"status_link_not_found", "not_found"}
        assert answers[0].json() == answers[1].json() == answers[3].json()
        assert httpx.get(local(gw, first["status_url"]), timeout=10).status_code == 200
