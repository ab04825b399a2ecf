"""Call events reach registered webhook URLs, shaped like OneInbox's flat payloads."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from structlog.testing import capture_logs

from tests.simulator.harness import RunningSimulator, fixture
from tests.support.servers import ServerThread, serve_app, wait_until


class Receiver:
    """A small HTTP endpoint that keeps what it is sent; can fail the first attempts."""

    def __init__(self, fail_first: int = 0) -> None:
        self.events: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.fail_first = fail_first
        self.app = Starlette(routes=[Route("/hook", self.receive, methods=["POST"])])

    async def receive(self, request: Request) -> Response:
        if self.fail_first > 0:
            self.fail_first -= 1
            return JSONResponse({"error": "try later"}, status_code=500)
        self.events.append(await request.json())
        self.headers.append(dict(request.headers))
        return JSONResponse({"ok": True})

    def names(self) -> list[str]:
        return [event["event"] for event in self.events]


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, ServerThread]]:
    target = Receiver()
    with serve_app(target.app, ws="websockets-sansio") as server:
        yield target, server


def register(sim: RunningSimulator, url: str, events: list[str]) -> dict[str, Any]:
    body = {"name": "test", "url": url, "events": events}
    response = sim.api("POST", "/v1/webhooks", json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def test_started_ended_and_analyzed_are_delivered(
    sim: RunningSimulator, receiver: tuple[Receiver, ServerThread]
) -> None:
    target, server = receiver
    register(sim, server.url + "/hook", ["call.started", "call.ended", "call.analyzed"])
    register(sim, server.url + "/hook", ["call.failed"])  # must not see this call's events
    agent_id = sim.new_agent()["id"]
    call_id = sim.new_call(agent_id)["id"]
    sim.http.post(f"/_sim/calls/{call_id}/join").raise_for_status()
    sim.api("POST", f"/v1/calls/{call_id}/stop")
    wait_until(lambda: len(target.events) >= 3, what="three events")
    assert target.names() == ["call.started", "call.ended", "call.analyzed"]
    sample = fixture("call-ended-event.json")
    for event in target.events:
        assert set(sample) <= set(event)
        assert (event["call_id"], event["agent_id"]) == (call_id, agent_id)
    ended, analysed = target.events[1], target.events[2]
    assert ended["status"] == "completed" and ended["outcome"] is None  # analysis comes later
    analysis = sim.call(call_id)["analysis"]
    assert (analysed["outcome"], analysed["summary"]) == (analysis["outcome"], analysis["summary"])
    assert target.headers[0]["x-oneinbox-event"] == "call.started"


def test_a_failed_call_is_delivered_and_a_failing_receiver_is_retried(
    sim: RunningSimulator,
) -> None:
    target = Receiver(fail_first=1)
    with serve_app(target.app, ws="websockets-sansio") as server:
        hook = register(sim, server.url + "/hook", ["call.failed"])
        call_id = sim.new_call(sim.new_agent()["id"])["id"]
        sim.http.post(f"/_sim/calls/{call_id}/end", json={"failed": True}).raise_for_status()
        wait_until(lambda: target.events, what="call.failed after a retry")
    assert target.names() == ["call.failed"] and target.events[0]["status"] == "failed"
    attempts = sim.api("GET", f"/v1/webhooks/{hook['id']}/deliveries").json()
    assert [a["outcome"] for a in attempts] == ["500", "200"]


def test_an_unreachable_receiver_changes_nothing(sim: RunningSimulator) -> None:
    sim.configure(webhook_retries=0)
    register(sim, "http://127.0.0.1:9/hook", ["call.ended"])
    call_id = sim.new_call(sim.new_agent()["id"])["id"]
    assert sim.api("POST", f"/v1/calls/{call_id}/stop").status_code == 200
    wait_until(lambda: sim.call(call_id)["analysis"], what="analysis despite the dead hook")


def test_a_failed_delivery_is_logged_without_the_receivers_query(sim: RunningSimulator) -> None:
    sim.configure(webhook_retries=0)
    hook = register(sim, "http://127.0.0.1:9/hook?token=receiver-secret-42", ["call.ended"])
    call_id = sim.new_call(sim.new_agent()["id"])["id"]
    with capture_logs() as captured:
        assert sim.api("POST", f"/v1/calls/{call_id}/stop").status_code == 200
        wait_until(
            lambda: sim.api("GET", f"/v1/webhooks/{hook['id']}/deliveries").json(),
            what="the failed delivery",
        )
        failed = wait_until(
            lambda: [e for e in captured if e["event"] == "simulator.webhook_failed"],
            what="its log line",
        )
    assert failed[0]["url"] == "http://127.0.0.1:9/hook"
    assert "receiver-secret-42" not in repr(captured)
