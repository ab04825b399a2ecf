"""A real local-mode gateway (uvicorn on loopback) with ADMIN_TOKEN, and the store beside it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from gateway.store.tables import CallRow, DeliveryAttemptRow, DeliveryRow, utcnow
from tests.support.gateway import RunningGateway, running_gateway

ADMIN_TOKEN = "admin-test-token-5f2c9a"
AGENTS_TOML = """
[agents.sales]
create = { first_message = "Hi, this is the sales line." }
"""


class AdminRig(RunningGateway):
    """A running gateway with ADMIN_TOKEN, and the store beside it."""

    def api(self, method: str, path: str, *, token: str | None = ADMIN_TOKEN, **kw: Any) -> Any:
        headers = dict(kw.pop("headers", {}))
        if token is not None:
            headers.setdefault("Authorization", f"Bearer {token}")
        return httpx.request(method, self.url + path, headers=headers, timeout=15, **kw)

    def sim(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The in-process simulator, through the gateway's mount."""
        # /_sim/* control is behind ADMIN_TOKEN when one is set; /v1 takes the API key.
        if path.startswith("/_sim"):
            kwargs.setdefault("headers", {"Authorization": f"Bearer {ADMIN_TOKEN}"})
        return super().sim(method, path, **kwargs)

    def upstream_web_calls(self) -> int:
        stats = self.sim("GET", "/_sim/stats").json()
        return int(stats["by_endpoint"].get("POST /v1/calls/web", 0))

    def start_call(self, **body: Any) -> dict[str, Any]:
        response = self.api("POST", "/api/calls", json={"agent": "sales", **body})
        assert response.status_code == 201, response.text
        return dict(response.json())

    def seed_delivery(
        self, call_id: str, *, state: str, delivery_id: str, due_ago: float | None = None
    ) -> None:
        """A delivery row as the outbox writes it (with one failed attempt when failed).

        A due one is leased to another replica for a while, so that this gateway's running
        outbox leaves it as seeded (it would otherwise try it at once).
        """

        async def write(session: Any) -> None:
            now = utcnow()
            session.add(
                DeliveryRow(
                    id=delivery_id,
                    call_id=call_id,
                    destination="callback",
                    destination_key=f"https://crm.example/{delivery_id}",
                    config={"url": f"https://crm.example/{delivery_id}"},
                    state=state,
                    attempts=5 if state == "dead" else 0,
                    next_attempt_at=None if due_ago is None else now - timedelta(seconds=due_ago),
                    last_status=500 if state == "dead" else None,
                    last_error="HTTP 500 from receiver" if state == "dead" else None,
                    lease_owner=None if due_ago is None else "another-replica:1",
                    lease_expires_at=None if due_ago is None else now + timedelta(minutes=10),
                )
            )
            await session.flush()
            if state == "dead":
                session.add(
                    DeliveryAttemptRow(delivery_id=delivery_id, status_code=500, duration_ms=12)
                )

        self.run(write)

    def delivery(self, delivery_id: str) -> DeliveryRow | None:
        async def read(session: Any) -> DeliveryRow | None:
            return await session.get(DeliveryRow, delivery_id)

        row: DeliveryRow | None = self.run(read)
        return row

    def replayed(self, delivery_id: str) -> DeliveryRow:
        """The delivery just after its replay: queued again with its tries started over. The
        replay wakes this gateway's running outbox, which may already have made the first try
        of the new round (a seeded destination fails, so it stays at one)."""
        row = self.delivery(delivery_id)
        assert row is not None
        if row.attempts == 0:
            assert row.state == "pending" and row.next_attempt_at is not None, row.state
        else:
            assert row.attempts == 1, (row.state, row.attempts)  # seeded dead after 5
        return row

    def calls(self) -> list[CallRow]:
        async def read(session: Any) -> list[CallRow]:
            return list((await session.execute(sa.select(CallRow))).scalars())

        return list(self.run(read))


@contextmanager
def admin_rig(tmp_path: Path, **overrides: Any) -> Iterator[AdminRig]:
    """Serve a local-mode gateway with the admin token; stopped even when the test fails."""
    values: dict[str, Any] = {
        "gateway_secret_key": "admin-tests-secret-key-0123456789",
        "admin_token": ADMIN_TOKEN,
        "slack_bot_token": None,
        "slack_signing_secret": None,
        **overrides,
    }
    with running_gateway(tmp_path, toml=AGENTS_TOML, **values) as running:
        yield AdminRig(running.server, running.app, running.settings, running.database_url)
