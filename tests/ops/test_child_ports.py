"""A child gateway whose port another process took before it bound it: the test support
notices (never mistaking the other server for the gateway) and, when the port was its own
to choose, starts the child on another."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.servers import GatewayProcess, PortTakenError, bound_socket


@pytest.fixture
def squatter() -> Iterator[socket.socket]:
    """A socket listening on a port, as another test's server would."""
    sock = bound_socket()
    sock.listen()
    try:
        yield sock
    finally:
        sock.close()


def env_for(tmp_path: Path) -> dict[str, str]:
    return {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}",
        "DATA_DIR": str(tmp_path / "data"),
        "GATEWAY_SECRET_KEY": "child-port-secret-key-0123456789",
    }


def test_a_port_chosen_by_the_support_is_chosen_again(
    tmp_path: Path, squatter: socket.socket
) -> None:
    taken = int(squatter.getsockname()[1])
    gateway = GatewayProcess(env_for(tmp_path), log_path=tmp_path / "gateway.log")
    # As if free_port() had handed out the port another process then bound.
    gateway.port = taken
    gateway.args = ["serve", "--host", "127.0.0.1", "--port", str(taken)]
    try:
        gateway.start()
        assert gateway.port != taken
        assert gateway.args[-1] == str(gateway.port)
        assert httpx.get(gateway.url + "/healthz", timeout=5).status_code == 200
    finally:
        gateway.stop()
    assert "address already in use" in (tmp_path / "gateway.log").read_text().lower()


def test_a_port_the_test_gave_is_reported_taken(tmp_path: Path, squatter: socket.socket) -> None:
    taken = int(squatter.getsockname()[1])
    gateway = GatewayProcess(env_for(tmp_path), port=taken, log_path=tmp_path / "gateway.log")
    with pytest.raises(PortTakenError, match=str(taken)):
        gateway.start()
    assert gateway.proc is not None and gateway.proc.poll() is not None
