"""Joining a simulated call the way livekit-client does: /rtc/v1, /validate, /rtc."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import websockets
from starlette.applications import Starlette
from starlette.routing import Mount
from websockets.exceptions import InvalidStatus

from gateway.simulator import SimulatorConfig, create_simulator_app
from tests.simulator.harness import API_KEY, RunningSimulator, eventually, running_simulator
from tests.support.servers import serve_app


async def status_of(sim: RunningSimulator, call_id: str) -> str:
    return str(sim.call(call_id)["status"])


async def test_a_bad_token_is_refused_recorded_and_fails_validation(sim: RunningSimulator) -> None:
    web = sim.new_call(sim.new_agent()["id"])
    forged = web["participant_token"][:-4] + "AAAA"
    with pytest.raises(InvalidStatus) as refused:
        async with websockets.connect(f"{web['server_url']}/rtc/v1?access_token={forged}"):
            pass
    assert refused.value.response.status_code == 403
    [record] = sim.http.get("/_sim/rtc").json()
    assert record["token"] == forged and record["valid"] is False and record["call_id"] is None
    assert await status_of(sim, web["id"]) == "initiated"

    for path in ("/rtc/v1/validate", "/rtc/validate"):
        bad = sim.http.get(path, params={"access_token": forged})
        good = sim.http.get(path, params={"access_token": web["participant_token"]})
        assert (bad.status_code, good.status_code, good.text) == (401, 200, "success")
    assert sim.http.get("/rtc/v1/validate").status_code == 401


async def test_the_legacy_rtc_path_joins_and_the_end_closes_the_socket(
    sim: RunningSimulator,
) -> None:
    web = sim.new_call(sim.new_agent()["id"])
    url = f"{web['server_url']}/rtc?access_token={web['participant_token']}"
    async with websockets.connect(url) as socket:
        await eventually(lambda: _is(sim, web["id"], "in_progress"), timeout=5, what="in_progress")
        sim.http.post(f"/_sim/calls/{web['id']}/end", json={}).raise_for_status()
        await asyncio.wait_for(socket.wait_closed(), timeout=5)
        assert socket.close_code == 1000
    [record] = sim.http.get("/_sim/rtc", params={"call_id": web["id"]}).json()
    assert record["path"] == "/rtc" and record["valid"] and record["closed_at"]
    ended = sim.http.get("/rtc/validate", params={"access_token": web["participant_token"]})
    assert ended.status_code == 401  # the token's call is over


async def test_leaving_ends_the_call_when_configured() -> None:
    with running_simulator(end_on_disconnect=True, analysis_delay=0.1) as sim:
        web = sim.new_call(sim.new_agent()["id"])
        url = f"{web['server_url']}/rtc/v1?access_token={web['participant_token']}"
        async with websockets.connect(url):
            await eventually(lambda: _is(sim, web["id"], "in_progress"), what="in_progress")
        await eventually(lambda: _is(sim, web["id"], "completed"), what="completed")
        assert sim.call(web["id"])["end_reason"] == "customer_ended_call"


async def test_server_url_includes_the_mount_path() -> None:
    simulator = create_simulator_app(SimulatorConfig(analysis_delay=0.1))
    outer = Starlette(routes=[Mount("/oneinbox-sim", app=simulator)])
    with serve_app(outer, ws="websockets-sansio") as server:
        headers = {"Authorization": f"Bearer {API_KEY}"}
        async with httpx.AsyncClient(base_url=server.url + "/oneinbox-sim", headers=headers) as c:
            agent = (await c.post("/v1/agents", json={"name": "Mounted"})).json()
            web = (await c.post("/v1/calls/web", json={"agent_id": agent["id"]})).json()
            assert web["server_url"] == f"ws://127.0.0.1:{server.port}/oneinbox-sim"
            url = f"{web['server_url']}/rtc/v1?access_token={web['participant_token']}"
            async with websockets.connect(url):

                async def live() -> bool:
                    call = (await c.get(f"/v1/calls/{web['id']}")).json()
                    return bool(call["status"] == "in_progress")

                await eventually(live, what="in_progress through the mount")
        await simulator.state.simulator.aclose()


def test_public_url_overrides_the_server_url() -> None:
    with running_simulator(public_url="https://sim.example.test/base/") as sim:
        web = sim.new_call(sim.new_agent()["id"])
        assert web["server_url"] == "wss://sim.example.test/base"


async def _is(sim: RunningSimulator, call_id: str, status: str) -> bool:
    return await status_of(sim, call_id) == status
