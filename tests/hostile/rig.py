"""One real gateway (local mode, in-process simulator, fake Slack) attacked over HTTP.

Every hostile case goes through `Rig.attack`, which asserts what the issue asks of all of
them: a 4xx with the `{"error": {"code", "message"}}` body, no request to OneInbox (counted
at the simulator) or to Slack (counted at the stand-in), no row stored, and no secret in
the logs, which are written at debug level in the format the rig was started with.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from starlette.applications import Starlette

from gateway.store.database import Database
from tests.slack.signing import BOT_TOKEN, SIGNING_SECRET
from tests.support.fake_slack import FakeSlack
from tests.support.gateway import running_gateway
from tests.support.servers import ServerThread, serve_app

ADMIN_TOKEN = "hostile-admin-token-0123456789abcdef"
SECRET_KEY = "hostile-gateway-secret-key-0123456789"
ENV_SECRETS = {
    "LEAD_TOKEN": "hostile-lead-token-0123456789",
    "LEAD_WHSEC": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "HUBSPOT_SECRET": "hostile-hubspot-secret-0123",
    "CALLBACK_WHSEC": "whsec_c2VjcmV0LWZvci1jYWxsYmFja3MtMDEyMw==",
}
# Every value that must never reach a log line, an error body or Slack.
SECRETS = [ADMIN_TOKEN, SECRET_KEY, SIGNING_SECRET, BOT_TOKEN, *ENV_SECRETS.values()]
TRACKER_POLL = "GET /v1/calls/{id}"
TABLES = ("calls", "deliveries", "idempotency_keys", "join_links", "agents")

CONFIG = """
[agents.sales]
create = { first_message = "Hi!" }

[hooks.lead]
agent = "sales"
auth = { scheme = "bearer", token_env = "LEAD_TOKEN" }
variables = { customer_name = "body.firstname || 'there'" }
notify = [{ callback_url_from = "body.callback", secret_env = "CALLBACK_WHSEC" }]

[hooks.plain]
agent = "sales"
auth = { scheme = "bearer", token_env = "LEAD_TOKEN" }

[hooks.signed]
agent = "sales"
auth = { scheme = "standard_webhooks", secret_env = "LEAD_WHSEC" }

[hooks.hubspot]
preset = "hubspot"
agent = "sales"
auth = { scheme = "hubspot_v3", secret_env = "HUBSPOT_SECRET" }

[hooks.sf]
preset = "salesforce"
agent = "sales"
auth = { scheme = "bearer", token_env = "LEAD_TOKEN" }
"""

BEARER = {"Authorization": f"Bearer {ENV_SECRETS['LEAD_TOKEN']}"}
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@dataclass
class Rig:
    gateway: ServerThread
    app: Starlette
    slack: FakeSlack
    database_url: str
    log_format: str
    slack_url: str
    capture: pytest.CaptureFixture[str] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return self.gateway.url

    @property
    def public(self) -> str:
        return self.app.state.ctx.settings.public_base

    @property
    def simulator(self) -> Any:
        return self.app.state.ctx.simulator.state.simulator

    @property
    def slack_response_url(self) -> str:
        return self.slack_url + "/response/r1"

    def upstream_requests(self) -> int:
        """Requests OneInbox (the simulator) and Slack (the stand-in) have seen."""
        # The tracker's polls of calls started by earlier cases run in the background.
        counts = self.simulator.stats.by_endpoint
        oneinbox = sum(n for endpoint, n in counts.items() if endpoint != TRACKER_POLL)
        # bolt looks the bot up once (`auth.test`) before any listener runs: not an action.
        slack = [call for call in self.slack.calls if call.method != "auth.test"]
        return oneinbox + len(slack) + len(self.slack.responses)

    def rows(self) -> dict[str, int]:
        return count_rows(self.database_url, TABLES)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(method, self.url + path, timeout=30, **kwargs)

    def attack(
        self,
        method: str,
        path: str,
        *,
        status: int | tuple[int, ...],
        code: str | None = None,
        **kwargs: Any,
    ) -> dict[str, str]:
        """Send one hostile request and check everything the issue asks of it."""
        before_upstream = self.upstream_requests()
        before_rows = self.rows()
        self.logs()  # drop what earlier requests wrote
        response = self.request(method, path, **kwargs)
        error = error_body(response, status)
        if code is not None:
            assert error["code"] == code, error
        assert self.upstream_requests() == before_upstream, "an upstream request was made"
        assert self.rows() == before_rows, "a row was stored"
        self.assert_no_secret(response.text)
        self.assert_no_secret(self.logs())
        return error

    def logs(self) -> str:
        assert self.capture is not None
        return self.capture.readouterr().err

    def assert_no_secret(self, text: str) -> None:
        for secret in SECRETS:
            assert secret not in text, f"a secret ({secret[:6]}…) leaked"


def error_body(response: httpx.Response, status: int | tuple[int, ...]) -> dict[str, str]:
    """The `{"error": {"code", "message"}}` body of a response with the expected status."""
    expected = status if isinstance(status, tuple) else (status,)
    assert response.status_code in expected, (response.status_code, response.text[:300])
    assert 400 <= response.status_code < 500 or response.status_code == 503
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    assert body["error"]["code"] and body["error"]["message"]
    return dict(body["error"])


def count_rows(database_url: str, tables: tuple[str, ...]) -> dict[str, int]:
    """Rows in each table, read through a connection of the test's own."""

    async def run() -> dict[str, int]:
        db = Database(database_url)
        try:
            async with db.session() as session:
                counts = {}
                for table in tables:
                    result = await session.execute(sa.text(f"SELECT count(*) FROM {table}"))  # noqa: S608
                    counts[table] = int(result.scalar_one())
                return counts
        finally:
            await db.dispose()

    return asyncio.run(run())


@contextlib.contextmanager
def hostile_gateway(tmp_path: Path, log_format: str, **overrides: Any) -> Iterator[Rig]:
    """The rig's gateway, with fake Slack, hooks and an admin token; logs at debug level."""
    saved = {name: os.environ.get(name) for name in ENV_SECRETS}
    os.environ.update(ENV_SECRETS)
    fake = FakeSlack(token=BOT_TOKEN)
    try:
        with (
            serve_app(fake.app) as slack_server,
            running_gateway(
                tmp_path,
                toml=CONFIG,
                configure_logs=True,
                **{
                    "gateway_secret_key": SECRET_KEY,
                    "admin_token": ADMIN_TOKEN,
                    "slack_signing_secret": SIGNING_SECRET,
                    "slack_bot_token": BOT_TOKEN,
                    "slack_api_url": slack_server.url + "/api/",
                    "callback_allow_private": False,
                    "log_format": log_format,
                    "log_level": "debug",
                    **overrides,
                },
            ) as running,
        ):
            yield Rig(
                running.server,
                running.app,
                fake,
                running.database_url,
                log_format,
                slack_server.url,
            )
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
