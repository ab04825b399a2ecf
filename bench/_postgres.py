"""Scratch PostgreSQL databases for benchmarks, and counting what a run stored."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import uuid

import asyncpg


def postgres_base() -> str | None:
    """A PostgreSQL server URL to make a scratch database on, if one answers."""
    url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    url = url or "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"

    async def probe() -> None:
        conn = await asyncpg.connect(plain(url), timeout=2)
        await conn.close()

    try:
        asyncio.run(probe())
    except Exception:
        return None
    return url


def plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def scratch_database(base: str) -> tuple[str, str]:
    """(gateway URL, name) of a fresh database on the server of `base`."""
    name = f"bench_hooks_{uuid.uuid4().hex[:10]}"
    root = plain(base).rsplit("/", 1)[0]

    async def create() -> None:
        conn = await asyncpg.connect(root + "/postgres")
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()

    asyncio.run(create())
    return base.rsplit("/", 1)[0] + "/" + name, name


def drop_database(base: str, name: str) -> None:
    async def drop() -> None:
        conn = await asyncpg.connect(plain(base).rsplit("/", 1)[0] + "/postgres")
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()

    asyncio.run(drop())


def count_calls(url: str) -> int:
    if url.startswith("sqlite"):
        with sqlite3.connect(url.split("///", 1)[1]) as conn:
            return int(conn.execute("SELECT count(*) FROM calls").fetchone()[0])

    async def count() -> int:
        conn = await asyncpg.connect(plain(url))
        try:
            return int(await conn.fetchval("SELECT count(*) FROM calls"))
        finally:
            await conn.close()

    return asyncio.run(count())
