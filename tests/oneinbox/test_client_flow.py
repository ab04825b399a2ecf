"""The client against the simulator over real HTTP: the whole happy path of a web call."""

from __future__ import annotations

import asyncio

import jwt
import pytest
import websockets

from gateway.oneinbox import Call, NotFoundError, OneInboxClient
from tests.simulator.harness import API_KEY, RunningSimulator, eventually


async def test_agent_to_analysed_call(sim: RunningSimulator) -> None:
    async with OneInboxClient(sim.url, API_KEY, timeout=5) as client:
        agent = await client.create_agent("Front desk", language="en")
        assert agent.id.startswith("agt_") and agent.llm_id and agent.llm_id.startswith("llm_")

        llm_id = agent.llm_id
        agent = await client.update_agent(agent.id, first_message="Hi!", enable_recording=True)
        assert agent.first_message == "Hi!"
        assert (agent.model_extra or {})["enable_recording"] is True  # unknown fields are kept
        model = await client.update_model(llm_id, system_prompt="Be brief.", temperature=0.3)
        assert (model.system_prompt, model.temperature) == ("Be brief.", 0.3)
        assert (await client.get_model(llm_id)).temperature == 0.3
        assert (await client.get_agent(agent.id)).first_message == "Hi!"

        web = await client.start_web_call(
            agent.id, variables={"customer_name": "Ada"}, metadata={"crm_contact_id": "51"}
        )
        assert web.status == "initiated" and web.room_name
        assert web.server_url == f"ws://127.0.0.1:{sim.server.port}"
        assert web.participant_token
        claims = jwt.decode(web.participant_token, options={"verify_signature": False})
        assert claims["video"]["room"] == web.room_name and claims["video"]["roomJoin"] is True

        url = f"{web.server_url}/rtc/v1?access_token={web.participant_token}&sdk=js"
        async with websockets.connect(url) as socket:

            async def live() -> bool:
                return (await client.get_call(web.id)).status == "in_progress"

            await eventually(live, what="call in_progress after the rtc connect")
            recorded = sim.http.get("/_sim/rtc", params={"call_id": web.id}).json()
            assert [r["token"] for r in recorded] == [web.participant_token]
            assert recorded[0]["path"] == "/rtc/v1"

            await client.stop_call(web.id)
            await asyncio.wait_for(socket.wait_closed(), timeout=5)  # the call ended: closed

        await client.stop_call(web.id)  # stopping again is a no-op

        async def analysed() -> Call | None:
            call = await client.get_call(web.id)
            return call if call.has_analysis else None

        call: Call = await eventually(analysed, what="analysis of the stopped call")
        assert call.is_terminal and call.status == "completed"
        assert call.end_reason == "api_stop"
        assert call.messages and call.messages[0].content
        assert call.analysis is not None and call.analysis.summary
        assert call.started_at and call.ended_at and call.duration_seconds is not None
        assert call.variables == {"customer_name": "Ada"}
        assert call.metadata == {"crm_contact_id": "51"}


async def test_list_calls_and_outcome_override(sim: RunningSimulator) -> None:
    async with OneInboxClient(sim.url, API_KEY) as client:
        agent = await client.create_agent("Lister")
        other = await client.create_agent("Other")
        ids = [(await client.start_web_call(agent.id)).id for _ in range(3)]
        await client.start_web_call(other.id)

        page = await client.list_calls(agent_id=agent.id, limit=2)
        assert (page.total, page.limit, page.offset) == (3, 2, 0)
        rest = await client.list_calls(agent_id=agent.id, limit=2, offset=2)
        assert [c.id for c in page.items + rest.items] == ids[::-1]  # newest first

        await client.stop_call(ids[0])
        done = await client.list_calls(status="completed")
        assert [c.id for c in done.items] == [ids[0]]

        updated = await client.update_call_outcome(ids[0], "Appointment booked")
        assert updated.id == ids[0]

        async def outcome() -> str | None:
            return (await client.get_call(ids[0])).outcome

        assert await eventually(outcome, what="outcome") == "Appointment Booked"


async def test_webhook_registration(sim: RunningSimulator) -> None:
    async with OneInboxClient(sim.url, API_KEY) as client:
        hook = await client.create_webhook("crm", "http://127.0.0.1:9/hook", ["call.ended"])
        assert hook.secret and hook.secret.startswith("whsec_")
        assert hook.secret not in repr(hook)
        listed = await client.list_webhooks()
        assert [(w.id, w.events, w.secret) for w in listed] == [(hook.id, ["call.ended"], None)]
        await client.delete_webhook(hook.id)
        assert await client.list_webhooks() == []


async def test_on_request_hook_sees_templates_and_outcomes(sim: RunningSimulator) -> None:
    seen: list[tuple[str, str]] = []

    def record(endpoint: str, outcome: str, seconds: float) -> None:
        assert seconds >= 0
        seen.append((endpoint, outcome))

    async with OneInboxClient(sim.url, API_KEY, on_request=record) as client:
        agent = await client.create_agent("Hooked")
        await client.get_agent(agent.id)
        with pytest.raises(NotFoundError):
            await client.get_call("call_missing")
    assert seen == [
        ("POST /v1/agents", "ok"),
        ("GET /v1/agents/{id}", "ok"),
        ("GET /v1/calls/{id}", "404"),
    ]
