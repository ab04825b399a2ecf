"""`oneinbox-gateway check`: is everything the gateway needs there and reachable?"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from gateway.oneinbox.errors import OneInboxError
from gateway.settings import Settings
from gateway.store.database import Database

CheckRow = tuple[str, bool, str]
# Integrations may append their own checks: (name, async fn(settings) -> (ok, detail)).
EXTRA_CHECKS: list[tuple[str, Callable[[Settings], Awaitable[tuple[bool, str]]]]] = []


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
        for name, check in EXTRA_CHECKS:
            ok, detail = await check(settings)
            rows.append((name, ok, detail))
    finally:
        await ctx.client.aclose()
        await ctx.db.dispose()
    return rows


def _describe_db(db: Database) -> str:
    return f"{db.dialect} reachable"
