"""A real gateway (uvicorn on loopback, local mode) wired to a fake Slack API server."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.store.calls import CallRepository
from tests.slack.signing import BOT_TOKEN, SIGNING_SECRET, command_body, signed_headers
from tests.support.fake_slack import FakeSlack
from tests.support.gateway import RunningGateway, running_gateway
from tests.support.servers import ServerThread, serve_app

AGENTS_TOML = """
[agents.sales]
create = { first_message = "Hi, this is the sales line." }
"""


@dataclass
class SlackRig:
    running: RunningGateway
    slack_server: ServerThread
    fake: FakeSlack

    @property
    def gateway(self) -> ServerThread:
        return self.running.server

    @property
    def database_url(self) -> str:
        return self.running.database_url

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
        return self.running.sim(method, path, **kwargs)

    def upstream_calls(self) -> int:
        stats = self.sim("GET", "/_sim/stats").json()
        return int(stats["by_endpoint"].get("POST /v1/calls/web", 0))

    def upstream_agents_created(self) -> int:
        stats = self.sim("GET", "/_sim/stats").json()
        return int(stats["by_endpoint"].get("POST /v1/agents", 0))

    def stored_calls(self) -> list[Any]:
        async def read(session: AsyncSession) -> list[Any]:
            return list(await CallRepository(session).recent())

        return self.running.run(read)

    def responses(self) -> list[dict[str, Any]]:
        return [payload for _, payload in self.fake.responses]


def make_rig(tmp_path: Path, *, extra_config: str = "", **overrides: Any) -> Iterator[SlackRig]:
    fake = FakeSlack(token=BOT_TOKEN)
    with serve_app(fake.app) as slack_server:
        values: dict[str, Any] = {
            "gateway_secret_key": "slack-tests-secret-key-0123456789",
            "slack_signing_secret": SIGNING_SECRET,
            "slack_bot_token": BOT_TOKEN,
            "slack_api_url": slack_server.url + "/api/",
            **overrides,
        }
        # Served where PUBLIC_BASE_URL says, so join links and OneInbox webhooks reach it.
        with running_gateway(tmp_path, toml=AGENTS_TOML + extra_config, **values) as running:
            yield SlackRig(running, slack_server, fake)


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[SlackRig]:
    yield from make_rig(tmp_path)
