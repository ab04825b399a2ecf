"""`oneinbox-gateway check`: is everything the gateway needs there and reachable?"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import httpx

from gateway.config import GatewayConfig
from gateway.oneinbox.errors import OneInboxError
from gateway.settings import Settings
from gateway.store.database import Database

CheckRow = tuple[str, bool, str]


async def run_checks(settings: Settings) -> list[CheckRow]:
    """One row per thing checked: (name, ok, what was found)."""
    from gateway.app import build_context

    rows: list[CheckRow] = [
        ("config", True, str(settings.config_path or "no GATEWAY_CONFIG file (defaults)"))
    ]
    ctx = build_context(settings)
    try:
        db_ok = await ctx.db.ping()
        rows.append(("store", db_ok, _describe_db(ctx.db) if db_ok else "unreachable"))
        try:
            await ctx.client.list_calls(limit=1)
        except OneInboxError as exc:
            rows.append(("oneinbox", False, str(exc)))
        else:
            where = "in-process simulator (local mode)" if settings.local_mode else "key accepted"
            rows.append(("oneinbox", True, where))
        rows.append(await check_slack(settings))
        rows.extend(check_hook_secrets(ctx.config))
        rows.extend(await integration_checks(settings, ctx.config))
    finally:
        await ctx.client.aclose()
        await ctx.db.dispose()
    return rows


def _describe_db(db: Database) -> str:
    return f"{db.dialect} reachable"


SLACK_TIMEOUT_SECONDS = 10.0


async def check_slack(settings: Settings) -> CheckRow:
    """`auth.test` with the bot token against SLACK_API_URL; OAuth mode needs its secrets."""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else ""
    signing = settings.slack_signing_secret is not None
    if token and not signing:
        return ("slack", False, "SLACK_BOT_TOKEN is set but SLACK_SIGNING_SECRET is not")
    if not token:
        if settings.slack_client_id and settings.slack_client_secret and signing:
            return ("slack", True, "OAuth mode: each workspace's token is checked at install")
        if settings.slack_client_id or settings.slack_client_secret:
            return ("slack", False, "OAuth needs SLACK_CLIENT_ID, _SECRET and SIGNING_SECRET")
        return ("slack", True, "off (no SLACK_BOT_TOKEN or OAuth client)")
    url = settings.slack_api_url.rstrip("/") + "/auth.test"
    try:
        async with httpx.AsyncClient(timeout=SLACK_TIMEOUT_SECONDS) as http:
            answer = await http.post(url, headers={"Authorization": f"Bearer {token}"})
        body = answer.json()
    except (httpx.HTTPError, ValueError) as exc:
        return ("slack", False, f"{settings.slack_api_url} unreachable ({type(exc).__name__})")
    if not isinstance(body, dict) or not body.get("ok"):
        error = body.get("error", f"HTTP {answer.status_code}") if isinstance(body, dict) else "?"
        return ("slack", False, f"auth.test refused the bot token: {error}")
    return ("slack", True, f"bot @{body.get('user', '?')} in workspace {body.get('team', '?')}")


async def integration_checks(settings: Settings, config: GatewayConfig) -> list[CheckRow]:
    """Rows from integrations that offer `async check(settings, config)` (e.g. a CRM login)."""
    from gateway.plugins import discover

    rows: list[CheckRow] = []
    for integration in discover():
        check = getattr(integration, "check", None)
        if check is not None:
            rows.extend(await check(settings, config))
    return rows


def check_hook_secrets(config: GatewayConfig) -> list[CheckRow]:
    """One row per `[hooks.NAME]`: every `*_env` it names is set (values never shown)."""
    rows: list[CheckRow] = []
    for name, table in sorted(config.table("hooks").items()):
        if not isinstance(table, dict):
            continue
        names = sorted(set(_env_names(table)))
        missing = [env for env in names if not os.environ.get(env)]
        if missing:
            rows.append((f"hook {name}", False, f"not set: {', '.join(missing)}"))
        elif names:
            rows.append((f"hook {name}", True, f"secrets present: {', '.join(names)}"))
        else:
            rows.append((f"hook {name}", True, "no secrets named"))
    return rows


def _env_names(value: Any) -> Iterator[str]:
    """Every value of a key ending in `_env`, however deep in tables and arrays."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key.endswith("_env") and isinstance(item, str):
                yield item
            else:
                yield from _env_names(item)
    elif isinstance(value, list):
        for item in value:
            yield from _env_names(item)
