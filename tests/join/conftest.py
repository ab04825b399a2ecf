"""Join tests: a real gateway process (local mode, or against a simulator process as a real
OneInbox) and an origin that starts calls on it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.calls.harness import SIM_KEY, simulator_process
from tests.join.harness import CallStarter
from tests.support.servers import GatewayProcess, gateway_process


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    """`python -m gateway serve` in local mode, one per test module (it takes ~3 s to start).

    Tests stay independent: each starts its own calls, and rate-limited tests present their
    own client address (`X-Forwarded-For`, trusted from loopback as behind a proxy).
    """
    home = tmp_path_factory.mktemp("gateway")
    env = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{home / 'gateway.db'}",
        "DATA_DIR": str(home / "data"),
        "GATEWAY_SECRET_KEY": "test-secret-key-" + uuid.uuid4().hex,
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "debug",
        "ONEINBOX_API_KEY": "",
    }
    with gateway_process(env, log_path=home / "gateway.log") as proc:
        yield proc


@pytest.fixture(scope="module")
def livekit_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    """A gateway whose OneInbox is a separate simulator process, as a real deployment's is:
    not local mode, so its join page takes the real path (livekit-client), which the
    simulator's silent room socket lets get as far as a real media server would not answer."""
    home = tmp_path_factory.mktemp("livekit-gateway")
    sim = simulator_process(home).start(ready_path="/")
    env = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{home / 'gateway.db'}",
        "DATA_DIR": str(home / "data"),
        "GATEWAY_SECRET_KEY": "test-secret-key-" + uuid.uuid4().hex,
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "debug",
        "ONEINBOX_API_KEY": SIM_KEY,
        "ONEINBOX_BASE_URL": sim.url,
    }
    try:
        with gateway_process(env, log_path=home / "gateway.log") as proc:
            yield proc
    finally:
        sim.stop()


@pytest.fixture
async def livekit_starter(livekit_gateway: GatewayProcess) -> AsyncIterator[CallStarter]:
    """An origin starting calls on `livekit_gateway`."""
    origin = CallStarter(
        livekit_gateway.url,
        livekit_gateway.env["DATABASE_URL"],
        livekit_gateway.env["GATEWAY_SECRET_KEY"],
        oneinbox_url=livekit_gateway.env["ONEINBOX_BASE_URL"],
    )
    try:
        yield origin
    finally:
        await origin.aclose()


@pytest.fixture
def gateway_log(gateway: GatewayProcess) -> Path:
    """The gateway's whole output (stdout and stderr), one JSON object a line."""
    assert gateway.log_path is not None
    return gateway.log_path


@pytest.fixture
async def starter(gateway: GatewayProcess) -> AsyncIterator[CallStarter]:
    """Plays an origin: starts calls on the gateway, the way Slack or a hook would."""
    origin = CallStarter(
        gateway.url, gateway.env["DATABASE_URL"], gateway.env["GATEWAY_SECRET_KEY"]
    )
    try:
        yield origin
    finally:
        await origin.aclose()
