"""The route table: every route is reachable. The integrations' routes come first (the busy
ones are found sooner), so one whose pattern also matched a core path would hide it."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from starlette.routing import Match, Mount, Route

from gateway.app import create_app
from gateway.settings import load_settings

HOOKS = """
[agents.sales]
create = { first_message = "Hi" }

[hooks.crm]
agent = "sales"
auth = { scheme = "bearer", token_env = "ROUTES_HOOK_TOKEN" }
"""


def concrete(path: str) -> str:
    """A request path the template matches: each `{param}` becomes a plain segment."""
    return re.sub(r"\{[^}]+\}", "x1", path)


def test_every_route_is_the_first_to_match_its_own_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROUTES_HOOK_TOKEN", "routes-hook-token-0123456789")
    config = tmp_path / "gateway.toml"
    config.write_text(HOOKS)
    settings = load_settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}",
        data_dir=tmp_path / "data",
        oneinbox_api_key=None,
        gateway_secret_key="routes-secret-" + uuid.uuid4().hex,
        gateway_config=config,
        slack_signing_secret="routes-signing-secret",
        slack_bot_token="xoxb-routes-test",
    )
    routes = create_app(settings).router.routes
    paths = [getattr(r, "path", "") for r in routes]
    assert "/hooks/{name}" in paths and any(p.startswith("/slack/") for p in paths)
    assert paths.index("/hooks/{name}") < paths.index("/healthz")  # integrations first
    checked = 0
    for route in routes:
        if not isinstance(route, Route):
            continue
        for method in sorted(route.methods or {"GET"}):
            scope = {"type": "http", "method": method, "path": concrete(route.path)}
            scope["root_path"] = ""
            first = next(r for r in routes if r.matches(scope)[0] is Match.FULL)
            assert first is route, f"{method} {route.path} is answered by {first}"
            checked += 1
    mounts = [r for r in routes if isinstance(r, Mount)]
    for mount in mounts:
        scope = {"type": "http", "method": "GET", "path": mount.path + "/x1", "root_path": ""}
        first = next(r for r in routes if r.matches(scope)[0] is not Match.NONE)
        assert first is mount, f"{mount.path}/… is answered by {first}"
    assert checked > 30
