"""The Slack app manifest asks for exactly the scopes the gateway uses, at its own routes."""

from __future__ import annotations

from pathlib import Path

import yaml

from integrations.slack.workspace import BOT_SCOPES

MANIFEST = Path(__file__).parents[2] / "deploy" / "slack" / "manifest.yaml"


def test_manifest_scopes_and_urls() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text())
    assert sorted(manifest["oauth_config"]["scopes"]["bot"]) == sorted(BOT_SCOPES)
    (command,) = manifest["features"]["slash_commands"]
    assert command["command"] == "/voice"
    base = "https://gateway.example.com"
    assert command["url"] == f"{base}/slack/events"
    assert manifest["settings"]["interactivity"]["request_url"] == f"{base}/slack/events"
    assert manifest["oauth_config"]["redirect_urls"] == [f"{base}/slack/oauth_redirect"]
