"""A running simulator for tests: real HTTP on an ephemeral port, stopped whatever happens."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from gateway.simulator import SimulatorConfig, SimulatorState, create_simulator_app
from tests.support.servers import ServerThread, serve_app

API_KEY = "oi_sk_test_4f9d1c2b7a"
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "oneinbox"


def fixture(name: str) -> Any:
    """A JSON payload sample from tests/fixtures/oneinbox/."""
    return json.loads((FIXTURES / name).read_text())


class RunningSimulator:
    """A served simulator plus small synchronous helpers for its control endpoints."""

    def __init__(self, server: ServerThread, state: SimulatorState) -> None:
        self.server = server
        self.state = state
        self.url = server.url
        self.http = httpx.Client(base_url=server.url, timeout=5)
        self.auth = {"Authorization": f"Bearer {API_KEY}"}

    def configure(self, **fields: Any) -> dict[str, Any]:
        """PATCH /_sim/config."""
        response = self.http.patch("/_sim/config", json=fields)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def stats(self) -> dict[str, Any]:
        """GET /_sim/stats."""
        result: dict[str, Any] = self.http.get("/_sim/stats").json()
        return result

    def count(self, endpoint: str) -> int:
        """How many requests reached ``endpoint`` (e.g. ``POST /v1/agents``)."""
        return int(self.stats()["by_endpoint"].get(endpoint, 0))

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A /v1 request with the test API key."""
        headers = {**self.auth, **kwargs.pop("headers", {})}
        return self.http.request(method, path, headers=headers, **kwargs)

    def new_agent(self, name: str = "Test agent") -> dict[str, Any]:
        """Create an agent and answer its JSON."""
        response = self.api("POST", "/v1/agents", json={"name": name})
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    def new_call(self, agent_id: str, **body: Any) -> dict[str, Any]:
        """Start a web call and answer its JSON."""
        response = self.api("POST", "/v1/calls/web", json={"agent_id": agent_id, **body})
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    def call(self, call_id: str) -> dict[str, Any]:
        """GET /v1/calls/{id}."""
        response = self.api("GET", f"/v1/calls/{call_id}")
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result


@contextlib.contextmanager
def running_simulator(**config: Any) -> Iterator[RunningSimulator]:
    """Serve a fresh simulator configured with ``config``; always stopped."""
    app = create_simulator_app(SimulatorConfig(**config))
    with serve_app(app, ws="websockets-sansio") as server:
        sim = RunningSimulator(server, app.state.simulator)
        try:
            yield sim
        finally:
            sim.http.close()


async def eventually(
    condition: Callable[[], Awaitable[Any]], *, timeout: float = 10.0, what: str = ""
) -> Any:
    """Await ``condition`` until it is truthy or the deadline passes (async ``wait_until``)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await condition()
        if last:
            return last
        await asyncio.sleep(0.05)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}; last value {last!r}")
