"""Join tests: a real local-mode gateway process and an origin that starts calls on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.join.harness import CallStarter
from tests.support.servers import GatewayProcess, gateway_process


@pytest.fixture
def gateway_log(tmp_path: Path) -> Path:
    return tmp_path / "gateway.log"


@pytest.fixture
def gateway(gateway_env: dict[str, str], gateway_log: Path) -> Iterator[GatewayProcess]:
    """`python -m gateway serve` in local mode on an ephemeral port; its output in `gateway_log`."""
    env = {**gateway_env, "LOG_LEVEL": "debug"}
    with gateway_process(env, log_path=gateway_log) as proc:
        yield proc


@pytest.fixture
async def starter(
    gateway: GatewayProcess, gateway_env: dict[str, str]
) -> AsyncIterator[CallStarter]:
    origin = CallStarter(
        gateway.url, gateway_env["DATABASE_URL"], gateway_env["GATEWAY_SECRET_KEY"]
    )
    try:
        yield origin
    finally:
        await origin.aclose()
