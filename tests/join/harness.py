"""Start real calls against a running gateway (local mode), the way an origin would.

The gateway runs as a real server; this side plays the origin: a `CallService` with its own
OneInbox client talking over HTTP to the gateway's mounted simulator, writing into the same
store with the same `GATEWAY_SECRET_KEY`. The browser then only ever talks to the gateway.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import httpx
import sqlalchemy as sa

from gateway.calls.commands import CreateAgent, Origin, StartWebCall
from gateway.calls.errors import UnknownAgentError
from gateway.calls.link_crypto import TokenBox
from gateway.calls.links import JoinLinks
from gateway.calls.service import CallService
from gateway.config import GatewayConfig
from gateway.oneinbox.client import OneInboxClient
from gateway.store.database import Database
from gateway.store.tables import JoinLinkRow, utcnow
from tests.support.servers import GatewayProcess

SIM_KEY = "oi_sk_join_tests"
SIMULATOR = "/oneinbox-sim"


@dataclass(frozen=True)
class TestCall:
    """A started call as the test sees it: the secret token is known only to the test."""

    __test__ = False  # not a pytest class

    call_id: str
    link_id: str
    join_url: str
    server_url: str
    token: str


class CallStarter:
    """Plays an origin against the gateway at `base_url` (its store at `database_url`)."""

    def __init__(
        self,
        base_url: str,
        database_url: str,
        secret_key: str,
        *,
        ttl_seconds: int = 900,
        template: str | None = None,
        oneinbox_url: str | None = None,
    ) -> None:
        self.base_url = base_url
        self.db = Database(database_url)
        # The gateway's own OneInbox: its mounted simulator (local mode) or a separate one.
        self.client = OneInboxClient(oneinbox_url or base_url + SIMULATOR, SIM_KEY, timeout=10)
        self.links = JoinLinks(
            TokenBox(secret_key.encode()),
            public_base=base_url,
            ttl_seconds=ttl_seconds,
            template=template,
        )
        self.service = CallService(self.client, self.db, self.links, GatewayConfig())

    async def start_call(self, agent_name: str = "Ada") -> TestCall:
        """Create the agent if needed and start a web call; returns its link and token."""
        try:
            await self.service.resolve_agent(agent_name)
        except UnknownAgentError:
            await self.service.create_agent(CreateAgent(name=agent_name))
        started = await self.service.start_web_call(
            StartWebCall(agent=agent_name, origin=Origin(kind="admin", name="join-tests"))
        )
        async with self.db.session() as session:
            row = (
                await session.execute(
                    sa.select(JoinLinkRow).where(JoinLinkRow.call_id == started.call_id)
                )
            ).scalar_one()
            credentials = self.links.reveal(row)
        assert credentials is not None
        return TestCall(
            call_id=started.call_id,
            link_id=row.id,
            join_url=started.join_url,
            server_url=credentials.server_url,
            token=credentials.participant_token,
        )

    async def expire_link(self, link_id: str) -> None:
        """Move a link's expiry into the past (what the clock would do in 15 minutes)."""
        async with self.db.session() as session:
            await session.execute(
                sa.update(JoinLinkRow)
                .where(JoinLinkRow.id == link_id)
                .values(expires_at=utcnow() - timedelta(seconds=1))
            )

    async def link_row(self, link_id: str) -> JoinLinkRow | None:
        async with self.db.session() as session:
            return await session.get(JoinLinkRow, link_id)

    async def aclose(self) -> None:
        await self.client.aclose()
        await self.db.dispose()


def oneinbox_url(gateway: GatewayProcess) -> str:
    """Where the gateway's OneInbox answers: its mounted simulator, or the one it was given."""
    return gateway.env.get("ONEINBOX_BASE_URL") or gateway.url + SIMULATOR


def upstream_call(api_url: str, call_id: str) -> dict[str, object]:
    """The call as the gateway's simulator (OneInbox at `api_url`) sees it."""
    response = httpx.get(
        f"{api_url}/v1/calls/{call_id}",
        headers={"Authorization": f"Bearer {SIM_KEY}"},
        timeout=5,
    )
    response.raise_for_status()
    data: dict[str, object] = response.json()
    return data


def rtc_connections(api_url: str, call_id: str) -> list[dict[str, object]]:
    """Every `/rtc` connection the simulator (OneInbox at `api_url`) recorded for `call_id`."""
    response = httpx.get(f"{api_url}/_sim/rtc", params={"call_id": call_id}, timeout=5)
    response.raise_for_status()
    records: list[dict[str, object]] = response.json()
    return records
