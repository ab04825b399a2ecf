"""`oneinbox-gateway db …`: the store's schema, for deploys that migrate before serving."""

from __future__ import annotations

import asyncio

import typer

from gateway.cli.common import fail, settings_or_exit
from gateway.store.database import Database

db_cli = typer.Typer(help="The store: migrate it to the newest schema.")


@db_cli.command("migrate")
def migrate() -> None:
    """Bring DATABASE_URL to the newest schema (safe to run from several replicas at once)."""
    settings = settings_or_exit()
    db = Database(settings.database_url)

    async def run() -> str:
        try:
            await db.migrate()
            return db.dialect
        finally:
            await db.dispose()

    try:
        dialect = asyncio.run(run())
    except Exception as exc:  # unreachable database, wrong credentials, a failed revision
        fail(f"migration failed: {type(exc).__name__}: {exc}", code=1)
    typer.echo(f"store migrated ({dialect})")
