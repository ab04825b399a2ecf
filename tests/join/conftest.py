"""Join tests: a real local-mode gateway process and an origin that starts calls on it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

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
