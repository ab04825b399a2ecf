"""`oneinbox-gateway check`: is everything the gateway needs there and reachable?

The core checks its config, the store and OneInbox; each integration adds its own rows
(`Integration.checks`: Slack's `auth.test`, the hooks' secrets, …). The modules it reaches
with are imported inside `run_checks` (start-up speed, see `gateway.cli.common`).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import typer

from gateway.cli.common import settings_or_exit
from gateway.cli.output import JsonOption, print_json

if TYPE_CHECKING:
    from gateway.plugins import CheckRow
    from gateway.settings import Settings


async def run_checks(settings: Settings) -> list[CheckRow]:
    """One row per thing checked: (name, ok, what was found)."""
    # Lazily (start-up speed): the upstream client, the simulator and every integration.
    from gateway.config import load_config
    from gateway.integration import checks_of, discover
    from gateway.oneinbox.errors import OneInboxError
    from gateway.store.database import Database
    from gateway.upstream import local_simulator, oneinbox_client

    rows: list[CheckRow] = [
        ("config", True, str(settings.config_path or "no GATEWAY_CONFIG file (defaults)"))
    ]
    config = load_config(settings.config_path)
    db = Database(settings.database_url)
    simulator = local_simulator(settings) if settings.local_mode else None
    client = oneinbox_client(settings, simulator_app=simulator)
    try:
        db_ok = await db.ping()
        rows.append(("store", db_ok, f"{db.dialect} reachable" if db_ok else "unreachable"))
        try:
            await client.list_calls(limit=1)
        except OneInboxError as exc:
            rows.append(("oneinbox", False, str(exc)))
        else:
            where = "in-process simulator (local mode)" if settings.local_mode else "key accepted"
            rows.append(("oneinbox", True, where))
        for integration in discover():
            rows.extend(await checks_of(integration, settings, config))
    finally:
        await client.aclose()
        if simulator is not None:
            await simulator.state.simulator.aclose()
        await db.dispose()
    return rows


def check(as_json: JsonOption = False) -> None:
    """Validate configuration and reach OneInbox and the database; non-zero on failure."""
    settings = settings_or_exit()
    rows = asyncio.run(run_checks(settings))
    ok = all(passed for _, passed, _ in rows)
    if as_json:
        print_json(
            {
                "ok": ok,
                "checks": [
                    {"name": name, "ok": passed, "detail": detail} for name, passed, detail in rows
                ],
            }
        )
    else:
        width = max(len(name) for name, _, _ in rows)
        for name, passed, detail in rows:
            typer.echo(f"{name.ljust(width)}  {'ok  ' if passed else 'FAIL'}  {detail}")
    if not ok:
        raise typer.Exit(1)
