"""A real gateway (create_app served by uvicorn on loopback) with a hooks config file."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from starlette.applications import Starlette

from gateway.app import create_app
from gateway.logging import configure_logging
from gateway.settings import load_settings
from gateway.store.database import Database
from tests.support.servers import ServerThread, serve_app

PUBLIC = "https://gateway.example"  # what senders call; the test reaches it on loopback


@dataclass
class Gateway:
    server: ServerThread
    app: Starlette
    database_url: str

    @property
    def url(self) -> str:
        return self.server.url

    def post(self, hook: str, **kwargs: Any) -> httpx.Response:
        return httpx.post(f"{self.url}/hooks/{hook}", timeout=30, **kwargs)

    def count(self, table: str) -> int:
        return count_rows(self.database_url, table)

    @property
    def simulator(self) -> Any:
        return self.app.state.ctx.extras["simulator_app"].state.simulator


def count_rows(database_url: str, table: str) -> int:
    """Rows in `table`, read through a connection of the test's own."""

    async def run() -> int:
        db = Database(database_url)
        try:
            async with db.session() as session:
                result = await session.execute(sa.text(f"SELECT count(*) FROM {table}"))  # noqa: S608
                return int(result.scalar_one())
        finally:
            await db.dispose()

    return asyncio.run(run())


@contextlib.contextmanager
def gateway(
    tmp_path: Path,
    toml: str | None,
    *,
    database_url: str | None = None,
    **settings: Any,
) -> Iterator[Gateway]:
    """A local-mode gateway (in-process simulator) serving `toml` as its GATEWAY_CONFIG."""
    config_path = None
    if toml is not None:
        config_path = tmp_path / f"gateway-{uuid.uuid4().hex[:6]}.toml"
        config_path.write_text(toml)
    url = database_url or f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"
    values: dict[str, Any] = {
        "database_url": url,
        "data_dir": tmp_path / "data",
        "oneinbox_api_key": "",
        "gateway_secret_key": "hooks-test-" + uuid.uuid4().hex,
        "gateway_config": config_path,
        "public_base_url": PUBLIC,
        "callback_allow_private": True,
        "log_format": "json",
    }
    values.update(settings)
    # As `serve` does; also rebinds the log stream if an earlier test captured and closed it.
    configure_logging(fmt="json", level="info")
    app = create_app(load_settings(**values))
    with serve_app(app) as server:
        yield Gateway(server, app, url)
