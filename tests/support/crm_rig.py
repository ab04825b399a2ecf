"""A local-mode gateway writing results back to a CRM stand-in, for the write-back tests.

`crm_gateway(tmp_path, toml, env)` serves the gateway in-process (simulator included) with
`env` set for its lifetime, on SQLite or on the store `database_url=` names (e.g. the
`database_url` fixture's PostgreSQL); `call_and_finish()` starts a call through a hook as
the CRM would and ends it in the simulator; `settled()` waits until the call's CRM delivery is
delivered or dead and returns it with its tries.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from gateway.store.database import Database
from gateway.store.tables import DeliveryAttemptRow, DeliveryRow
from tests.calls.harness import HOOK_TOKEN, LocalGateway, local_gateway
from tests.support.servers import wait_until


@dataclass
class Settled:
    state: str
    attempts: int
    last_error: str | None
    config: dict[str, Any]
    tries: list[tuple[int | None, str | None]]  # (status, error) of every try, in order


@dataclass
class CrmGateway:
    gateway: LocalGateway
    database_url: str

    def call_and_finish(
        self,
        hook: str,
        body: dict[str, Any],
        *,
        outcome: str = "Interested",
        summary: str = "Asked for a demo next Tuesday.",
    ) -> str:
        response = httpx.post(
            f"{self.gateway.url}/hooks/{hook}",
            json=body,
            timeout=10,
            headers={"Authorization": f"Bearer {HOOK_TOKEN}"},
        )
        assert response.status_code == 202, response.text
        call_id = str(response.json()["call_id"])
        self.gateway.end_call(call_id, outcome=outcome, summary=summary)
        return call_id

    def post(self, hook: str, body: dict[str, Any]) -> httpx.Response:
        return httpx.post(
            f"{self.gateway.url}/hooks/{hook}",
            json=body,
            timeout=10,
            headers={"Authorization": f"Bearer {HOOK_TOKEN}"},
        )

    def settled(self, call_id: str, destination: str, timeout: float = 30) -> Settled:
        return wait_until(
            lambda: _settled(self.database_url, call_id, destination),
            timeout=timeout,
            what=f"{destination} delivery of {call_id} settled",
        )


def read_delivery(database_url: str, call_id: str, destination: str) -> Settled | None:
    async def read() -> Settled | None:
        db = Database(database_url)
        try:
            async with db.session() as session:
                row = (
                    await session.execute(
                        sa.select(DeliveryRow).where(
                            DeliveryRow.call_id == call_id, DeliveryRow.destination == destination
                        )
                    )
                ).scalar_one_or_none()
                if row is None:
                    return None
                tries = (
                    await session.execute(
                        sa.select(DeliveryAttemptRow)
                        .where(DeliveryAttemptRow.delivery_id == row.id)
                        .order_by(DeliveryAttemptRow.id)
                    )
                ).scalars()
                return Settled(
                    row.state,
                    row.attempts,
                    row.last_error,
                    dict(row.config),
                    [(t.status_code, t.error) for t in tries],
                )
        finally:
            await db.dispose()

    return asyncio.run(read())


def _settled(database_url: str, call_id: str, destination: str) -> Settled | None:
    found = read_delivery(database_url, call_id, destination)
    return found if found is not None and found.state in ("delivered", "dead") else None


@contextlib.contextmanager
def crm_gateway(
    tmp_path: Path, toml: str, env: dict[str, str], *, database_url: str | None = None
) -> Iterator[CrmGateway]:
    """A local-mode gateway with `env` set (CRM URL, tokens) and a fast retry schedule; its
    store is SQLite under `tmp_path` unless `database_url` names another (PostgreSQL)."""
    url = database_url or f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"
    patch = pytest.MonkeyPatch()
    try:
        patch.setenv("TEST_HOOK_TOKEN", HOOK_TOKEN)
        for key, value in env.items():
            patch.setenv(key, value)
        with local_gateway(
            tmp_path, toml, delivery_schedule_scale=0.002, database_url=url
        ) as gateway:
            yield CrmGateway(gateway, url)
    finally:
        patch.undo()
