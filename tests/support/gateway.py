"""The one way tests run a gateway in-process: `create_app` served by uvicorn on loopback.

`running_gateway(tmp_path, toml=…, **settings)` starts a local-mode gateway (the OneInbox
simulator in-process, SQLite under `tmp_path` unless `database_url` is given) and stops it
even when the test fails. Settings are passed by their (lower-case) names, exactly as
`load_settings` takes them. The per-area helpers (`tests/hooks/harness.py`, …) only add
what their tests talk to on top of `RunningGateway`.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.applications import Starlette

from gateway.app import create_app
from gateway.context import AppContext
from gateway.logging import configure_logging
from gateway.settings import Settings, load_settings
from gateway.store.database import Database
from gateway.upstream import LOCAL_API_KEY, SIMULATOR_MOUNT
from tests.support.servers import ServerThread, bound_socket

T = TypeVar("T")


def run_in_store(database_url: str, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work(session)` in one transaction on the store, with a connection of the test's
    own (never the gateway's)."""

    async def go() -> T:
        db = Database(database_url)
        try:
            async with db.session() as session:
                return await work(session)
        finally:
            await db.dispose()

    return asyncio.run(go())


@dataclass
class RunningGateway:
    """A gateway served on loopback, and what a test reads beside it."""

    server: ServerThread
    app: Starlette
    settings: Settings
    database_url: str

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def ctx(self) -> AppContext:
        ctx: AppContext = self.app.state.ctx
        return ctx

    @property
    def simulator(self) -> Any:
        """The in-process simulator's state (calls, agents, …)."""
        assert self.ctx.simulator is not None, "not in local mode"
        return self.ctx.simulator.state.simulator

    def sim(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A request to the in-process simulator, through the gateway's mount."""
        headers = {"Authorization": f"Bearer {LOCAL_API_KEY}", **kwargs.pop("headers", {})}
        return httpx.request(
            method, self.url + SIMULATOR_MOUNT + path, headers=headers, timeout=10, **kwargs
        )

    def run(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """`work(session)` in a transaction on the gateway's store."""
        return run_in_store(self.database_url, work)

    def count(self, table: Any) -> int:
        """Rows in `table` (a table name or a mapped class)."""

        async def read(session: AsyncSession) -> int:
            source = sa.table(table) if isinstance(table, str) else table
            query = sa.select(sa.func.count()).select_from(source)
            return int((await session.execute(query)).scalar_one())

        return self.run(read)


@contextlib.contextmanager
def running_gateway(
    tmp_path: Path,
    *,
    toml: str | None = None,
    port: int | None = None,
    configure_logs: bool = False,
    **settings: Any,
) -> Iterator[RunningGateway]:
    """Serve a local-mode gateway until the block ends (stopped even when the test fails).

    `toml` becomes its GATEWAY_CONFIG file; `port` pins the port (e.g. so PUBLIC_BASE_URL
    can name it before the app is built). PUBLIC_BASE_URL defaults to where it listens.
    `configure_logs` sets logging up as `serve` does (in the settings' LOG_FORMAT and
    LOG_LEVEL, JSON at info by default, the secrets pinned).
    """
    sock = bound_socket(port or 0)  # the port is ours before PUBLIC_BASE_URL names it
    try:
        server, app, loaded, database_url = _gateway_on(
            sock, tmp_path, toml, configure_logs, settings
        )
    except BaseException:
        sock.close()
        raise
    server.start()
    try:
        yield RunningGateway(server, app, loaded, database_url)
    finally:
        server.stop()


def _gateway_on(
    sock: socket.socket,
    tmp_path: Path,
    toml: str | None,
    configure_logs: bool,
    settings: dict[str, Any],
) -> tuple[ServerThread, Starlette, Settings, str]:
    """The (not yet started) server of `running_gateway`, on the port `sock` holds."""
    port = int(sock.getsockname()[1])
    config_path = None
    if toml is not None:
        config_path = tmp_path / f"gateway-{uuid.uuid4().hex[:6]}.toml"
        config_path.write_text(toml)
    values: dict[str, Any] = {
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}",
        "data_dir": tmp_path / "data",
        "oneinbox_api_key": None,
        "gateway_secret_key": "test-secret-" + uuid.uuid4().hex,
        "gateway_config": config_path,
        "public_base_url": f"http://127.0.0.1:{port}",
        "log_format": "json",
    }
    values.update(settings)
    loaded = load_settings(**values)
    if configure_logs:
        # Also rebinds the log stream if an earlier test captured and closed it.
        configure_logging(
            fmt=loaded.log_format or "json",
            level=loaded.log_level,
            secrets=loaded.secret_values(),
        )
    app = create_app(loaded)
    return ServerThread(app, sock=sock), app, loaded, str(values["database_url"])
