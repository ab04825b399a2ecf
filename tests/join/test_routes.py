"""`/join/{link_id}`, `/session` and `/leave` over real HTTP against a real gateway process."""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from gateway.join.routes import SESSION_PER_ADDRESS
from tests.join.harness import CallStarter, TestCall, oneinbox_url, upstream_call
from tests.support.servers import GatewayProcess

JSON = {"Content-Type": "application/json"}
UNKNOWN_ID = "A" * 32
UNSUPPORTED = "unsupported_media_type"
TOO_BIG = b"{" + b" " * (1024 * 1024 + 10) + b"}"


_addresses = itertools.count(1)


class Visitor:
    """One client address (as a proxy in front of the gateway would report it)."""

    def __init__(self) -> None:
        n = next(_addresses)
        self.address = f"198.51.{n // 250}.{n % 250 + 1}"

    def get(self, url: str) -> httpx.Response:
        return httpx.get(url, headers={"X-Forwarded-For": self.address}, timeout=10)

    def post(
        self, url: str, body: bytes = b"{}", headers: dict[str, str] | None = None
    ) -> httpx.Response:
        sent = {**(JSON if headers is None else headers), "X-Forwarded-For": self.address}
        return httpx.post(url, content=body, headers=sent, timeout=10)


@pytest.fixture
def visitor() -> Visitor:
    return Visitor()


def until_limited(send: Callable[[], httpx.Response], *, most: int) -> list[int]:
    """Send until the first 429 (which ends the list); fails if none comes in `most`."""
    statuses: list[int] = []
    while len(statuses) < most:
        statuses.append(send().status_code)
        if statuses[-1] == 429:
            return statuses
    raise AssertionError(f"no 429 in {most} requests: {statuses}")


def still_running(gateway: GatewayProcess, call: TestCall) -> bool:
    return upstream_call(oneinbox_url(gateway), call.call_id)["status"] in ("queued", "initiated")


async def test_the_page_names_the_agent_and_holds_no_credential(
    gateway: GatewayProcess, starter: CallStarter, visitor: Visitor
) -> None:
    call = await starter.start_call("Ada <Lovelace>")
    response = visitor.get(call.join_url)
    assert response.status_code == 200
    assert "Call with Ada &lt;Lovelace&gt;" in response.text  # escaped, never raw HTML
    assert "Join call" in response.text
    assert call.token not in response.text
    assert call.server_url not in response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert "set-cookie" not in response.headers
    # Assets are served by the gateway itself (no CDN, no external font).
    assert "https://" not in response.text
    script = visitor.get(f"{gateway.url}/join/static/join.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert visitor.get(f"{gateway.url}/join/static/join.css").status_code == 200


async def test_session_answers_the_credentials_no_store(
    gateway: GatewayProcess, starter: CallStarter, visitor: Visitor
) -> None:
    call = await starter.start_call()
    response = visitor.post(call.join_url + "/session")
    assert response.status_code == 200
    body = response.json()
    assert body["participant_token"] == call.token
    assert body["server_url"] == call.server_url
    assert response.headers["cache-control"] == "no-store"
    assert "set-cookie" not in response.headers
    # An empty body is fine too: nothing is required.
    assert visitor.post(call.join_url + "/session", b"").status_code == 200


async def test_unknown_expired_and_finished_links_look_the_same(
    gateway: GatewayProcess, starter: CallStarter, visitor: Visitor
) -> None:
    expired = await starter.start_call()
    await starter.expire_link(expired.link_id)
    finished = await starter.start_call()
    assert visitor.post(finished.join_url + "/leave").status_code == 200
    dead = [
        f"{gateway.url}/join/{UNKNOWN_ID}",
        expired.join_url,
        finished.join_url,
        f"{gateway.url}/join/not-even-an-id",
        f"{gateway.url}/join/{'%00' * 3}",
    ]
    pages = [visitor.get(url) for url in dead]
    assert {p.status_code for p in pages} == {404}
    assert len({p.text for p in pages}) == 1
    assert "This join link has expired" in pages[0].text
    sessions = [visitor.post(url + "/session") for url in dead[:4]]
    assert {s.status_code for s in sessions} == {404}
    assert len({s.content for s in sessions}) == 1
    assert sessions[0].json()["error"]["code"] == "join_link_not_found"


async def test_an_expired_link_loses_its_credentials_in_the_store(
    gateway: GatewayProcess, starter: CallStarter, visitor: Visitor
) -> None:
    call = await starter.start_call()
    await starter.expire_link(call.link_id)
    async with starter.db.session() as session:
        assert await starter.links.purge_expired(session) >= 1
    row = await starter.link_row(call.link_id)
    assert row is not None
    assert row.participant_token_enc is None and row.server_url_enc is None
    assert row.purged_at is not None


@pytest.mark.parametrize("action", ["session", "leave"])
async def test_bad_requests_get_clear_errors_and_change_nothing(
    gateway: GatewayProcess, starter: CallStarter, visitor: Visitor, action: str
) -> None:
    call = await starter.start_call()
    url = f"{call.join_url}/{action}"
    cases = [
        (visitor.post(url, b"{not json"), 400, "malformed_json"),
        (visitor.post(url, b"[1, 2]"), 422, "invalid_body"),
        (visitor.post(url, TOO_BIG), 413, "body_too_large"),
        (visitor.post(url, b"{}", headers={"Content-Type": "text/plain"}), 415, UNSUPPORTED),
        (visitor.post(url, b"", headers={}), 415, UNSUPPORTED),
        (
            visitor.post(url, b"{}", headers={**JSON, "Origin": "https://evil.example"}),
            403,
            "forbidden_origin",
        ),
        (visitor.post(f"{gateway.url}/join/{UNKNOWN_ID}/{action}"), 404, "join_link_not_found"),
    ]
    for response, status, code in cases:
        assert response.status_code == status, (code, response.text)
        assert response.json()["error"]["code"] == code
        assert call.token not in response.text
    # The call still runs and its link still works.
    assert still_running(gateway, call)
    assert visitor.get(call.join_url).status_code == 200
    assert visitor.get(f"{gateway.url}/join/{call.link_id}/{action}").status_code == 405


async def test_leave_ends_the_call_upstream_and_kills_the_link(
    gateway: GatewayProcess, starter: CallStarter, visitor: Visitor
) -> None:
    call = await starter.start_call()
    response = visitor.post(call.join_url + "/leave", headers={**JSON, "Origin": gateway.url})
    assert response.status_code == 200
    assert response.json() == {"left": True}
    assert upstream_call(oneinbox_url(gateway), call.call_id)["status"] == "completed"
    row = await starter.link_row(call.link_id)
    assert row is not None and row.participant_token_enc is None
    assert visitor.get(call.join_url).status_code == 404
    assert visitor.post(call.join_url + "/session").status_code == 404


async def test_leave_still_ends_a_call_that_outlasted_its_link(
    gateway: GatewayProcess, starter: CallStarter, visitor: Visitor
) -> None:
    call = await starter.start_call()
    await starter.expire_link(call.link_id)
    assert visitor.post(call.join_url + "/session").status_code == 404
    assert visitor.post(call.join_url + "/leave").status_code == 200
    assert upstream_call(oneinbox_url(gateway), call.call_id)["status"] == "completed"


async def test_sessions_are_rate_limited_per_link(
    gateway: GatewayProcess, starter: CallStarter, visitor: Visitor
) -> None:
    call = await starter.start_call()
    other = await starter.start_call()
    # 10 a minute, refilled continuously: a slow machine may earn one more on the way.
    answers = until_limited(lambda: visitor.post(call.join_url + "/session"), most=20)
    assert 10 <= answers.count(200) <= 11
    limited = visitor.post(call.join_url + "/session")
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert int(limited.headers["retry-after"]) >= 1
    assert call.token not in limited.text
    # Another link from the same address is not affected.
    assert visitor.post(other.join_url + "/session").status_code == 200


async def test_sessions_are_rate_limited_per_client_address(
    gateway: GatewayProcess, starter: CallStarter, visitor: Visitor
) -> None:
    call = await starter.start_call()
    # Guessing ids spends the address's budget like any other attempt...
    guesses = iter(range(100))
    began = time.monotonic()
    answers = until_limited(
        lambda: visitor.post(f"{gateway.url}/join/{next(guesses):032d}/session"), most=60
    )
    # 30 at once, and the bucket refills at 30 a minute while a slow machine sends them.
    budget = SESSION_PER_ADDRESS
    refilled = math.ceil((time.monotonic() - began) * budget.requests / budget.seconds)
    assert 30 <= answers.count(404) <= 30 + refilled + 1 and 200 not in answers
    # ...after which even a real link gets 429 from that address.
    blocked = visitor.post(call.join_url + "/session")
    assert blocked.status_code == 429
    assert call.token not in blocked.text
    # Someone else, elsewhere, still gets in.
    assert Visitor().post(call.join_url + "/session").status_code == 200


async def test_the_token_reaches_no_log_line(
    gateway: GatewayProcess, starter: CallStarter, visitor: Visitor, gateway_log: Path
) -> None:
    call = await starter.start_call()
    visitor.get(call.join_url)
    visitor.post(call.join_url + "/session")
    visitor.post(call.join_url + "/session", b"{bad")
    visitor.post(call.join_url + "/leave")
    visitor.post(call.join_url + "/session")
    log = gateway_log.read_text()
    assert "join.session_issued" in log and "join.left" in log
    assert call.token not in log
    assert call.link_id not in log  # the link id is a credential too
