"""CallService against the simulator over HTTP and a real store."""

from __future__ import annotations

import asyncio

import httpx

from gateway.calls.commands import Origin, StartWebCall
from gateway.calls.link_crypto import TokenBox
from gateway.calls.links import JoinLinks
from gateway.calls.service import CallService
from gateway.config import AgentAlias, GatewayConfig
from gateway.oneinbox.client import OneInboxClient
from gateway.simulator import SimulatorConfig, create_simulator_app
from gateway.store.agents import AgentRepository
from gateway.store.calls import CallRepository
from gateway.store.database import Database
from tests.support.servers import serve_app


async def test_concurrent_first_uses_of_an_alias_create_one_agent(database_url: str) -> None:
    config = GatewayConfig(agents={"sales": AgentAlias(create={"first_message": "Hi!"})})
    with serve_app(create_simulator_app(SimulatorConfig(latency_seconds=0.05))) as upstream:
        db = Database(database_url)
        await db.migrate()
        client = OneInboxClient(upstream.url, "oi_sk_test_service")
        links = JoinLinks(TokenBox(b"k" * 32), public_base="http://gw.test", ttl_seconds=60)
        service = CallService(client, db, links, config)
        try:
            resolved = await asyncio.gather(*(service.resolve_agent("sales") for _ in range(5)))
            assert len({agent_id for agent_id, _ in resolved}) == 1
            stats = httpx.get(upstream.url + "/_sim/stats").json()
            assert stats["by_endpoint"].get("POST /v1/agents") == 1

            started = await service.start_web_call(
                StartWebCall(
                    agent="sales",
                    variables={"customer_name": "Ada"},
                    origin=Origin(kind="admin", name="test", context={"who": "me"}),
                )
            )
            assert started.join_url.startswith("http://gw.test/join/")
            async with db.session() as session:
                row = await CallRepository(session).get(started.call_id)
                agent = await AgentRepository(session).by_name("sales")
            assert row is not None and row.state == "started" and row.agent_name == "sales"
            assert agent is not None and agent.id == resolved[0][0]
            upstream_call = httpx.get(
                f"{upstream.url}/v1/calls/{started.call_id}",
                headers={"Authorization": "Bearer oi_sk_test_service"},
            ).json()
            assert upstream_call["metadata"]["gateway_origin"] == "admin"
            assert upstream_call["variables"] == {"customer_name": "Ada"}
        finally:
            await client.aclose()
            await db.dispose()
