"""`oneinbox-gateway db migrate`, the deploy's migration step, from several replicas at once."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
from alembic.script import ScriptDirectory

from gateway.store.database import Database
from gateway.store.revisions import alembic_config


def migrate_processes(database_url: str, tmp_path: Path, count: int) -> list[subprocess.Popen[str]]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DATA_DIR": str(tmp_path / "data"),
        "LOG_FORMAT": "json",
    }
    return [
        subprocess.Popen(
            [sys.executable, "-m", "gateway", "db", "migrate"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=tmp_path,
        )
        for _ in range(count)
    ]


async def stored_revision(database_url: str) -> str:
    db = Database(database_url)
    try:
        async with db.session() as session:
            result = await session.execute(sa.text("SELECT version_num FROM alembic_version"))
            return str(result.scalar_one())
    finally:
        await db.dispose()


def test_three_replicas_migrating_together_all_succeed_at_head(
    database_url: str, tmp_path: Path
) -> None:
    processes = migrate_processes(database_url, tmp_path, 3)
    outputs = [p.communicate(timeout=120)[0] for p in processes]
    for process, output in zip(processes, outputs, strict=True):
        assert process.returncode == 0, output
        assert "store migrated" in output
    head = ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()
    assert asyncio.run(stored_revision(database_url)) == head


def test_an_unreachable_database_fails_with_one_line_and_no_secret(tmp_path: Path) -> None:
    url = "postgresql+asyncpg://gateway:hunter2-db-password@127.0.0.1:1/gateway"
    (process,) = migrate_processes(url, tmp_path, 1)
    output = process.communicate(timeout=60)[0]
    assert process.returncode == 1
    assert "migration failed" in output
    assert "hunter2-db-password" not in output
