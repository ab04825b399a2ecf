"""SALESFORCE_LOGIN_URL: start-up and `check` say clearly when a write-back needs it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from gateway.app import create_app
from gateway.cli.check import run_checks
from gateway.config import ConfigError
from gateway.settings import Settings, load_settings
from tests.support.fake_salesforce import FakeSalesforce
from tests.support.servers import serve_app

CONFIG = """
[agents.sales]
id = "agt_123"

[hooks.sf-flow]
preset = "salesforce.flow"
agent = "sales"
[[hooks.sf-flow.notify]]
salesforce_record = "body.recordId"
client_id_env = "SF_CLIENT_ID"
client_secret_env = "SF_SECRET"
"""


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SALESFORCE_FLOW_TOKEN", "flow-token-0123456789")
    monkeypatch.setenv("SF_CLIENT_ID", FakeSalesforce().client_id)
    monkeypatch.setenv("SF_SECRET", FakeSalesforce().client_secret)
    path = tmp_path / "gateway.toml"
    path.write_text(CONFIG)
    return path


def settings(tmp_path: Path, config: Path, login_url: str | None) -> Settings:
    return load_settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'gw.db'}",
        data_dir=tmp_path / "data",
        gateway_config=config,
        salesforce_login_url=login_url,
        oneinbox_api_key="",
    )


@pytest.mark.parametrize(
    ("login_url", "says"),
    [
        (None, "SALESFORCE_LOGIN_URL: not set; set it to your org's My Domain URL"),
        ("https://login.salesforce.com", "login.salesforce.com does not serve the client cre"),
        ("my-org", "must be your org's My Domain URL"),
    ],
)
def test_start_up_stops_with_one_line_naming_the_setting(
    tmp_path: Path, config: Path, login_url: str | None, says: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        create_app(settings(tmp_path, config, login_url))
    assert says in str(caught.value)
    assert "[hooks.sf-flow]" in str(caught.value)


def test_check_fails_without_the_url_and_gets_a_token_with_it(tmp_path: Path, config: Path) -> None:
    rows = asyncio.run(run_checks(settings(tmp_path, config, None)))
    assert next((n, ok) for n, ok, _ in rows if n == "salesforce") == ("salesforce", False)
    org = FakeSalesforce()
    with serve_app(org.app) as server:
        rows = asyncio.run(run_checks(settings(tmp_path, config, server.url)))
    (row,) = [r for r in rows if r[0].startswith("salesforce")]
    assert row[:2] == ("salesforce SF_CLIENT_ID", True)
    assert f"{server.url}/instance" in row[2]
    assert len(org.token_requests) == 1
