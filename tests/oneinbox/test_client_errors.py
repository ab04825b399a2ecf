"""Every error class, produced by the simulator's fault knobs, and the retry rules."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Iterator, MutableMapping
from typing import Any

import httpx
import pytest
import structlog
from structlog.testing import capture_logs

from gateway.oneinbox import (
    AuthenticationError,
    NotFoundError,
    OneInboxClient,
    OneInboxError,
    RateLimitedError,
    RetryPolicy,
    UpstreamUnavailableError,
    ValidationError,
)
from tests.simulator.harness import API_KEY, RunningSimulator, running_simulator
from tests.support.servers import free_port

FAST = RetryPolicy(base=0.01, cap=0.05)


@pytest.fixture
async def client(sim: RunningSimulator) -> AsyncIterator[OneInboxClient]:
    async with OneInboxClient(sim.url, API_KEY, max_retries=2, retry_policy=FAST) as c:
        yield c


@pytest.fixture
def logs() -> Iterator[list[MutableMapping[str, Any]]]:
    # Another test may have configured an info-level filter; the client logs requests at debug.
    saved = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG))
    try:
        with capture_logs() as captured:
            yield captured
    finally:
        structlog.configure(**saved)


def assert_no_key(error: OneInboxError, key: str = API_KEY) -> None:
    for text in (str(error), repr(error), error.body, error.detail or "", repr(error.args)):
        assert key not in text


async def test_wrong_key_is_an_authentication_error_without_the_key(
    logs: list[MutableMapping[str, Any]],
) -> None:
    wrong = "oi_sk_wrong_0123456789abcdef"
    with running_simulator(api_keys=["oi_sk_the_right_one"]) as sim:
        async with OneInboxClient(sim.url, wrong, retry_policy=FAST) as client:
            with pytest.raises(AuthenticationError) as caught:
                await client.create_agent("Nobody")
        assert sim.count("POST /v1/agents") == 1  # a 401 is never retried
    error = caught.value
    assert error.status_code == 401 and error.detail == "Invalid API key"
    assert "check ONEINBOX_API_KEY" in str(error)
    assert_no_key(error, wrong)
    assert logs and all(wrong not in repr(entry) for entry in logs)


async def test_unknown_ids_are_not_found(client: OneInboxClient) -> None:
    with pytest.raises(NotFoundError) as caught:
        await client.get_call("call_does_not_exist")
    assert caught.value.status_code == 404 and caught.value.detail == "Call not found"
    assert caught.value.endpoint == "GET /v1/calls/{id}"
    with pytest.raises(NotFoundError):
        await client.update_agent("7b0e6a52-5d1e-4c8e-9b7a-1a2b3c4d5e6f", name="x")
    with pytest.raises(NotFoundError):
        await client.start_web_call("agt_missing")


async def test_invalid_input_is_a_validation_error(client: OneInboxClient) -> None:
    agent = await client.create_agent("Valid")
    assert agent.llm_id
    with pytest.raises(ValidationError) as caught:
        await client.update_model(agent.llm_id, temperature=5)
    error = caught.value
    assert error.status_code == 422 and error.detail and "temperature" in error.detail
    assert "temperature" in str(error) and '"loc"' in error.body
    with pytest.raises(ValidationError) as caught:
        await client.create_agent("")
    assert caught.value.detail and caught.value.detail.startswith("name:")
    assert_no_key(caught.value)


async def test_429_after_every_retry_is_rate_limited(
    sim: RunningSimulator, client: OneInboxClient
) -> None:
    sim.configure(rate_429=1.0, retry_after_seconds=0)
    with pytest.raises(RateLimitedError) as caught:
        await client.get_call("call_any")
    assert caught.value.status_code == 429 and caught.value.retry_after == 0
    assert "3 attempt(s)" in str(caught.value)
    assert sim.count("GET /v1/calls/{id}") == 3  # the first try and max_retries=2
    assert_no_key(caught.value)


async def test_retry_after_one_second_is_honoured_even_for_a_creating_post(
    sim: RunningSimulator,
) -> None:
    sim.configure(rate_429=1.0, retry_after_seconds=1)
    attempts: list[tuple[str, float]] = []

    def on_request(endpoint: str, outcome: str, seconds: float) -> None:
        attempts.append((outcome, time.monotonic()))
        if outcome == "429":
            sim.configure(rate_429=0.0)  # the next attempt will be let through

    async with OneInboxClient(sim.url, API_KEY, on_request=on_request) as client:
        agent = await client.create_agent("Patient")
    assert [outcome for outcome, _ in attempts] == ["429", "ok"]
    assert attempts[1][1] - attempts[0][1] >= 1.0
    assert sim.count("POST /v1/agents") == 2 and len(sim.state.agents) == 1
    assert agent.id in sim.state.agents


async def test_5xx_after_retries_is_upstream_unavailable(
    sim: RunningSimulator, client: OneInboxClient
) -> None:
    sim.configure(error_rate_5xx=1.0, error_statuses=[503])
    with pytest.raises(UpstreamUnavailableError) as caught:
        await client.get_call("call_any")
    assert caught.value.status_code == 503
    assert sim.count("GET /v1/calls/{id}") == 3  # GETs are retried
    assert_no_key(caught.value)


async def test_500_is_not_retried(sim: RunningSimulator, client: OneInboxClient) -> None:
    sim.configure(error_rate_5xx=1.0, error_statuses=[500])
    with pytest.raises(UpstreamUnavailableError):
        await client.list_calls()
    assert sim.count("GET /v1/calls") == 1


@pytest.mark.parametrize("status", [502, 503])
async def test_a_creating_post_is_not_resent_after_a_5xx(
    sim: RunningSimulator, client: OneInboxClient, status: int
) -> None:
    sim.configure(error_rate_5xx=1.0, error_statuses=[status])
    with pytest.raises(UpstreamUnavailableError) as caught:
        await client.start_web_call("agt_any")
    assert caught.value.status_code == status
    assert "was not re-sent" in str(caught.value)
    with pytest.raises(UpstreamUnavailableError):
        await client.create_agent("Once")
    with pytest.raises(UpstreamUnavailableError):
        await client.create_webhook("w", "http://127.0.0.1:9/", ["call.ended"])
    counts = sim.stats()["by_endpoint"]
    assert counts["POST /v1/calls/web"] == 1
    assert counts["POST /v1/agents"] == 1
    assert counts["POST /v1/webhooks"] == 1


async def test_a_creating_post_is_not_resent_after_a_read_timeout(sim: RunningSimulator) -> None:
    sim.configure(latency_seconds=0.5)
    async with OneInboxClient(sim.url, API_KEY, timeout=0.2, retry_policy=FAST) as client:
        with pytest.raises(UpstreamUnavailableError) as caught:
            await client.create_agent("Slow")
        assert "timed out" in str(caught.value) and caught.value.status_code is None
        assert "may have reached OneInbox" in str(caught.value)
        with pytest.raises(UpstreamUnavailableError):
            await client.get_agent("agt_any")  # a read may be retried
    counts = sim.stats()["by_endpoint"]
    assert counts["POST /v1/agents"] == 1
    assert counts["GET /v1/agents/{id}"] == 5  # the first try and max_retries=4


async def test_connection_refused_is_upstream_unavailable(
    logs: list[MutableMapping[str, Any]],
) -> None:
    base = f"http://127.0.0.1:{free_port()}"
    seen: list[str] = []
    async with OneInboxClient(
        base,
        API_KEY,
        max_retries=2,
        retry_policy=FAST,
        on_request=lambda endpoint, outcome, seconds: seen.append(outcome),
    ) as client:
        with pytest.raises(UpstreamUnavailableError) as caught:
            await client.create_agent("Nowhere")  # never arrived, so it was safe to retry
    assert seen == ["error", "error", "error"]
    assert base in str(caught.value) and "could not be reached" in str(caught.value)
    assert "may have reached" not in str(caught.value)
    assert_no_key(caught.value)
    assert all(API_KEY not in repr(entry) for entry in logs)


async def test_a_key_echoed_by_the_server_is_scrubbed() -> None:
    def echo(request: httpx.Request) -> httpx.Response:
        header = request.headers["Authorization"]
        return httpx.Response(400, json={"detail": f"bad header {header}"})

    transport = httpx.MockTransport(echo)
    async with OneInboxClient("https://api.test", API_KEY, transport=transport) as client:
        with pytest.raises(ValidationError) as caught:
            await client.get_agent("agt_1")
    assert "[redacted]" in str(caught.value)
    assert_no_key(caught.value)


async def test_an_unexpected_answer_is_a_oneinbox_error() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, text="<html>"))
    async with OneInboxClient("https://api.test", API_KEY, transport=transport) as client:
        with pytest.raises(OneInboxError, match="not JSON"):
            await client.get_call("call_1")
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={"no": "id"}))
    async with OneInboxClient("https://api.test", API_KEY, transport=transport) as client:
        with pytest.raises(OneInboxError, match="unexpected answer"):
            await client.get_call("call_1")


async def test_client_repr_hides_the_key() -> None:
    async with OneInboxClient("https://api.test", API_KEY) as client:
        assert API_KEY not in repr(client)
