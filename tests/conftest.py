"""Shared fixtures: real databases (SQLite always, PostgreSQL when TEST_DATABASE_URL is set).

Also, for the whole test process: httpx clients share one default TLS context (see
`share_default_tls_context`).
"""

from __future__ import annotations

import asyncio
import functools
import os
import ssl
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import httpx._transports.default as httpx_transports
import pytest
from sqlalchemy.engine import make_url

from gateway.store.database import Database


def share_default_tls_context() -> None:
    """Every httpx client of the test process gets the same default TLS context.

    httpx loads the CA bundle into a fresh context for each client: ~15-20 ms of CPU for
    every top-level `httpx.get` a test (or a `wait_until` poll) makes, and for each of the
    four clients an in-process app builds, though the tests only speak plain HTTP on loopback.
    The shared context is the one httpx builds by default (the same CA bundle, chosen by the
    same `SSL_CERT_FILE`/`SSL_CERT_DIR`, the same checks), one per value of those variables;
    clients asking for anything else (`verify=False`, a context, a client certificate) still
    get theirs built by httpx. Child processes (`serve`, the CLI) are not affected.
    """
    original = httpx.create_ssl_context

    @functools.cache
    def default(trust_env: bool, cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
        return original(verify=True, trust_env=trust_env)  # reads the same variables

    def create_ssl_context(
        verify: ssl.SSLContext | str | bool = True, cert: object = None, trust_env: bool = True
    ) -> ssl.SSLContext:
        if verify is True and cert is None:
            env = os.environ
            return default(trust_env, env.get("SSL_CERT_FILE"), env.get("SSL_CERT_DIR"))
        return original(verify=verify, cert=cert, trust_env=trust_env)  # type: ignore[arg-type]

    httpx_transports.create_ssl_context = create_ssl_context


share_default_tls_context()

PG_SKIP_REASON = (
    "PostgreSQL tests need TEST_DATABASE_URL "
    "(e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/test); .ci/run sets it"
)


def _pg_admin(sql: str) -> None:
    import asyncpg

    base = make_url(os.environ["TEST_DATABASE_URL"])

    async def run() -> None:
        conn = await asyncpg.connect(
            host=base.host or "127.0.0.1",
            port=base.port or 5432,
            user=base.username or "postgres",
            password=base.password,
            database=base.database or "test",
        )
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    if not os.environ.get("TEST_DATABASE_URL"):
        pytest.skip(PG_SKIP_REASON)
    name = f"gw_test_{uuid.uuid4().hex[:12]}"
    _pg_admin(f'CREATE DATABASE "{name}"')
    url = make_url(os.environ["TEST_DATABASE_URL"]).set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each test that takes this runs on SQLite and on PostgreSQL."""
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(name))


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """A migrated store on each of SQLite and PostgreSQL (see `database_url`)."""
    database = Database(database_url)
    await database.migrate()
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
def gateway_env(tmp_path: Path) -> dict[str, str]:
    """Environment for a local-mode gateway whose data lives under the test's tmp dir."""
    return {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}",
        "DATA_DIR": str(tmp_path / "data"),
        "GATEWAY_SECRET_KEY": "test-secret-key-" + uuid.uuid4().hex,
        "LOG_FORMAT": "json",
        "ONEINBOX_API_KEY": "",
    }
