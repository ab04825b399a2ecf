"""OAuth mode: install, redirect, installation stored in the gateway's database, then commands."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.slack.conftest import SlackRig, make_rig
from tests.support.servers import wait_until


@pytest.fixture
def oauth_rig(tmp_path: Path) -> Iterator[SlackRig]:
    yield from make_rig(
        tmp_path,
        slack_bot_token=None,
        slack_client_id="1234.5678",
        slack_client_secret="oauth-client-secret-value",
        public_base_url="https://gw.example",
    )


def install(rig: SlackRig) -> httpx.Response:
    page = httpx.get(rig.gateway.url + "/slack/install")
    assert page.status_code == 200
    authorize = re.search(r'href="(https://slack\.com/oauth/v2/authorize\?[^"]+)"', page.text)
    assert authorize is not None
    query = parse_qs(urlsplit(authorize.group(1).replace("&amp;", "&")).query)
    assert query["client_id"] == ["1234.5678"]
    assert query["redirect_uri"] == ["https://gw.example/slack/oauth_redirect"]
    assert "commands" in query["scope"][0] and "chat:write" in query["scope"][0]
    state = query["state"][0]
    cookie = page.headers["set-cookie"].split(";")[0]
    return httpx.get(
        rig.gateway.url + "/slack/oauth_redirect",
        params={"code": "the-code", "state": state},
        headers={"Cookie": cookie},
    )


def test_install_stores_the_workspace_and_commands_then_work(oauth_rig: SlackRig) -> None:
    rig = oauth_rig
    before = rig.command("call sales")
    assert before.status_code == 200  # not installed: bolt answers, nothing starts
    assert rig.upstream_calls() == 0

    done = install(rig)
    assert done.status_code == 200
    assert [c.method for c in rig.fake.calls if c.method.startswith("oauth")] == ["oauth.v2.access"]

    rig.command("call sales")
    card = wait_until(lambda: rig.fake.posts("C0GENERAL"), timeout=20, what="card")[0]
    assert card["blocks"][2]["type"] == "actions"
    posted = rig.fake.called("chat.postMessage")[0]
    assert posted.token == rig.fake.token  # the installation's bot token


def test_a_redirect_with_a_forged_state_installs_nothing(oauth_rig: SlackRig) -> None:
    rig = oauth_rig
    response = httpx.get(
        rig.gateway.url + "/slack/oauth_redirect", params={"code": "x", "state": "forged"}
    )
    assert response.status_code >= 400
    assert rig.fake.called("oauth.v2.access") == []


def test_the_destination_finds_each_workspace_token_in_the_store(oauth_rig: SlackRig) -> None:
    import asyncio

    from gateway.settings import load_settings
    from gateway.store.database import Database
    from integrations.slack.installations import token_sealer
    from integrations.slack.workspace import NoInstallationError, SlackWorkspaces

    assert install(oauth_rig).status_code == 200
    settings = load_settings(
        database_url=oauth_rig.database_url,
        slack_client_id="1234.5678",
        slack_client_secret="oauth-client-secret-value",
        slack_bot_token=None,
        oneinbox_api_key=None,
        gateway_secret_key="slack-tests-secret-key-0123456789",  # the rig's: opens its tokens
    )

    async def lookup() -> tuple[str, bool]:
        db = Database(oauth_rig.database_url)
        try:
            workspaces = SlackWorkspaces.from_settings(settings, db, token_sealer(settings))
            token = await workspaces.token_for("T0001")
            assert await workspaces.token_for(None) == token  # the only workspace
            try:
                await workspaces.token_for("T0THER")
            except NoInstallationError:
                return token, True
            return token, False
        finally:
            await db.dispose()

    assert asyncio.run(lookup()) == (oauth_rig.fake.token, True)


@pytest.fixture
def oauth_rig_any_db(tmp_path: Path, database_url: str) -> Iterator[SlackRig]:
    yield from make_rig(
        tmp_path,
        database_url=database_url,
        slack_bot_token=None,
        slack_client_id="1234.5678",
        slack_client_secret="oauth-client-secret-value",
        public_base_url="https://gw.example",
    )


def test_install_and_a_call_card_on_each_database(oauth_rig_any_db: SlackRig) -> None:
    rig = oauth_rig_any_db
    assert install(rig).status_code == 200
    rig.command("call sales")
    card = wait_until(lambda: rig.fake.posts("C0GENERAL"), timeout=20, what="card")[0]
    (call,) = wait_until(lambda: [c for c in rig.stored_calls() if c.origin_context.get("card")])
    assert call.destinations[0]["config"]["thread_ts"] == card["ts"]


@pytest.mark.parametrize(
    "params",
    [{}, {"state": "x"}, {"code": "x"}, {"error": "access_denied", "state": "x"}],
    ids=["nothing", "no-code", "no-state", "denied"],
)
def test_a_redirect_missing_its_fields_installs_nothing(
    oauth_rig: SlackRig, params: dict[str, str]
) -> None:
    response = httpx.get(oauth_rig.gateway.url + "/slack/oauth_redirect", params=params)
    # bolt answers a user's "Cancel" with its failure page (200), every other case with 4xx
    assert response.status_code >= 400 or "error" in params
    assert "success" not in response.text.lower()
    assert "xoxb" not in response.text and "oauth-client-secret" not in response.text
    assert oauth_rig.fake.called("oauth.v2.access") == []


def test_install_routes_exist_only_in_oauth_mode(rig: SlackRig) -> None:
    assert httpx.get(rig.gateway.url + "/slack/install").status_code == 404
