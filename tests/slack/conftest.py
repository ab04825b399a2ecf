"""A real gateway (uvicorn on loopback, local mode) wired to a fake Slack API server."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.app import create_app
from gateway.settings import load_settings
from gateway.store.calls import CallRepository
from gateway.store.database import Database
from gateway.upstream import LOCAL_API_KEY
from tests.slack.signing import BOT_TOKEN, SIGNING_SECRET, command_body, signed_headers
from tests.support.fake_slack import FakeSlack
from tests.support.servers import ServerThread, free_port, serve_app

AGENTS_TOML = """
[agents.sales]
create = { first_message = "Hi, this is the sales line." }
"""


@dataclass
class SlackRig:
    gateway: ServerThread
    slack_server: ServerThread
    fake: FakeSlack
    database_url: str

    @property
    def response_url(self) -> str:
        return self.slack_server.url + "/response/r1"

    def command(self, text: str, **fields: Any) -> httpx.Response:
        """POST a signed `/voice <text>` to the gateway."""
        body = command_body(text, response_url=self.response_url, **fields)
        return httpx.post(
            self.gateway.url + "/slack/events", content=body, headers=signed_headers(body)
        )

    def post(self, body: str, headers: dict[str, str]) -> httpx.Response:
        return httpx.post(self.gateway.url + "/slack/events", content=body, headers=headers)

    def sim(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The in-process simulator, through the gateway's mount."""
        headers = {"Authorization": f"Bearer {LOCAL_API_KEY}"}
        url = self.gateway.url + "/oneinbox-sim" + path
        return httpx.request(method, url, headers=headers, timeout=10, **kwargs)

    def upstream_calls(self) -> int:
        stats = self.sim("GET", "/_sim/stats").json()
        return int(stats["by_endpoint"].get("POST /v1/calls/web", 0))

    def upstream_agents_created(self) -> int:
        stats = self.sim("GET", "/_sim/stats").json()
        return int(stats["by_endpoint"].get("POST /v1/agents", 0))

    def stored_calls(self) -> list[Any]:
        async def read() -> list[Any]:
            db = Database(self.database_url)
            try:
                async with db.session() as session:
                    return list(await CallRepository(session).recent())
            finally:
                await db.dispose()

        return asyncio.run(read())

    def responses(self) -> list[dict[str, Any]]:
        return [payload for _, payload in self.fake.responses]


def make_rig(tmp_path: Path, *, extra_config: str = "", **overrides: Any) -> Iterator[SlackRig]:
    fake = FakeSlack(token=BOT_TOKEN)
    config = tmp_path / "gateway.toml"
    config.write_text(AGENTS_TOML + extra_config)
    database_url = overrides.pop("database_url", f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}")
    port = free_port()
    with serve_app(fake.app) as slack_server:
        values: dict[str, Any] = {
            "database_url": database_url,
            "data_dir": tmp_path / "data",
            "gateway_secret_key": "slack-tests-secret-key-0123456789",
            "gateway_config": config,
            "slack_signing_secret": SIGNING_SECRET,
            "slack_bot_token": BOT_TOKEN,
            "slack_api_url": slack_server.url + "/api/",
            "oneinbox_api_key": None,
            "public_base_url": f"http://127.0.0.1:{port}",
        }
        settings = load_settings(**{**values, **overrides})
        gateway = ServerThread(create_app(settings))
        # Served where PUBLIC_BASE_URL says, so join links and OneInbox webhooks reach it.
        gateway.port = gateway.server.config.port = port
        gateway.start()
        try:
            yield SlackRig(gateway, slack_server, fake, database_url)
        finally:
            gateway.stop()


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[SlackRig]:
    yield from make_rig(tmp_path)
