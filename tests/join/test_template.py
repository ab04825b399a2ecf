"""`JOIN_URL_TEMPLATE` as the gateway wires it: links for a team's own front end."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from gateway.calls.commands import CreateAgent, Origin, StartWebCall
from gateway.services import build_services
from gateway.settings import Settings

TEMPLATE = (
    "https://meet.example/custom?liveKitUrl={server_url}&token={participant_token}&call={call_id}"
)


def settings(tmp_path: Path, template: str) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}",
        data_dir=tmp_path / "data",
        gateway_secret_key="template-test-key",
        public_base_url="http://127.0.0.1:8080",
        join_url_template=template,
    )


async def test_started_calls_get_template_links_carrying_the_url_encoded_token(
    tmp_path: Path,
) -> None:
    ctx = build_services(settings(tmp_path, TEMPLATE))
    assert ctx.simulator is not None
    simulator = ctx.simulator.state.simulator
    try:
        await ctx.db.migrate()
        await ctx.calls.create_agent(CreateAgent(name="Ada"))
        started = await ctx.calls.start_web_call(
            StartWebCall(agent="Ada", origin=Origin(kind="admin", name="tests"))
        )
        call = simulator.calls[started.call_id]
        parts = urlsplit(started.join_url)
        assert (parts.scheme, parts.netloc, parts.path) == ("https", "meet.example", "/custom")
        query = parse_qs(parts.query)
        assert query["token"] == [call.participant_token]
        assert query["call"] == [started.call_id]
        assert query["liveKitUrl"][0].startswith("ws://127.0.0.1:8080/oneinbox-sim")
        assert "liveKitUrl=ws%3A%2F%2F127.0.0.1%3A8080%2Foneinbox-sim" in started.join_url
    finally:
        await simulator.aclose()
        await ctx.tracker_client.aclose()
        await ctx.client.aclose()
        await ctx.db.dispose()
