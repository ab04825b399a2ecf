"""Operations: what the store's size costs the metrics scrape, the admin API and the dashboard.

A real gateway process (local mode, `ADMIN_TOKEN` set) over a SQLite store seeded with
2,000 calls (with their events) and 2,000 deliveries. Each route is fetched 40 times in a row
over one keep-alive connection; `/healthz` is the floor. Goals: `/metrics` p99 < 250 ms (it
counts the store at every scrape), `/api/calls` and the dashboard p99 < 300 ms.
Bounded to about 20 s; loopback only.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from bench._support import scaled
from gateway.store.database import Database
from gateway.store.tables import CallEventRow, CallRow, DeliveryRow, utcnow
from tests.support.servers import gateway_process

CALLS = scaled(2000, 50)
REQUESTS = scaled(40, 3)
TOKEN = "bench-admin-token"
STATES = ["delivered", "delivered", "delivered", "analyzed", "live", "started", "failed"]
OUTCOMES = ["Interested", "Not Interested", "Callback Requested", "Voicemail", None]


async def seed(url: str) -> str:
    db = Database(url)
    try:
        await db.migrate()
        now = utcnow()
        calls, events, deliveries = [], [], []
        for i in range(CALLS):
            call_id = f"call_bench_{i:05d}"
            created = now - timedelta(minutes=i)
            state = STATES[i % len(STATES)]
            result = {
                "outcome": OUTCOMES[i % len(OUTCOMES)],
                "duration_seconds": 30 + i % 200,
                "summary": "A short call.",
                "messages": [
                    {"role": "agent", "content": "Hello"},
                    {"role": "user", "content": "Hi"},
                ],
            }
            calls.append(
                {
                    "id": call_id,
                    "agent_id": "agt_bench",
                    "agent_name": "Bench",
                    "origin_kind": "hook",
                    "origin_name": "crm",
                    "origin_context": {},
                    "destinations": [],
                    "state": state,
                    "created_at": created,
                    "updated_at": created,
                    "result": result,
                    "poll_count": 0,
                }
            )
            events.append(
                {"call_id": call_id, "from_state": None, "to_state": "started", "at": created}
            )
            events.append(
                {"call_id": call_id, "from_state": "started", "to_state": state, "at": created}
            )
            deliveries.append(
                {
                    "id": f"msg_bench_{i:05d}",
                    "call_id": call_id,
                    "destination": "callback" if i % 2 else "slack",
                    "destination_key": f"k{i}",
                    "config": {},
                    "state": "dead" if i % 25 == 0 else "delivered",
                    "attempts": 1,
                    "created_at": created,
                    "updated_at": created,
                    "next_attempt_at": None,
                }
            )
        async with db.session() as session:
            await session.execute(CallRow.__table__.insert(), calls)
            await session.execute(CallEventRow.__table__.insert(), events)
            await session.execute(DeliveryRow.__table__.insert(), deliveries)
        return calls[0]["id"]
    finally:
        await db.dispose()


def timed(client: httpx.Client, path: str) -> dict[str, float]:
    samples = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        answer = client.get(path)
        samples.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, (path, answer.status_code)
    samples.sort()
    return {"p50": statistics.median(samples), "p99": samples[int(len(samples) * 0.99) - 1]}


def run() -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'gateway.db'}"
        call_id = asyncio.run(seed(url))
        env = {
            "DATABASE_URL": url,
            "DATA_DIR": str(Path(tmp) / "data"),
            "ADMIN_TOKEN": TOKEN,
            "GATEWAY_SECRET_KEY": uuid.uuid4().hex,
            "ONEINBOX_API_KEY": "",
            "LOG_LEVEL": "warning",
            "LOG_FORMAT": "json",
        }
        with gateway_process(env) as gateway, httpx.Client(base_url=gateway.url) as client:
            floor = timed(client, "/healthz")
            metrics = timed(client, "/metrics")
            client.headers["Authorization"] = f"Bearer {TOKEN}"
            api = timed(client, "/api/calls?limit=50")
            assert client.post("/dashboard/login", data={"token": TOKEN}).status_code == 303
            overview = timed(client, "/")
            page = timed(client, f"/dashboard/calls/{call_id}")
    base = f"/healthz p50 {floor['p50']:.1f} ms"
    store = f"{CALLS} calls, {CALLS} deliveries"
    return [
        {
            "name": "/metrics p99",
            "value": metrics["p99"],
            "unit": "ms",
            "compared_with": f"goal < 250 ms ({store}); p50 {metrics['p50']:.1f} ms; {base}",
        },
        {
            "name": "GET /api/calls?limit=50 p99",
            "value": api["p99"],
            "unit": "ms",
            "compared_with": f"goal < 300 ms; p50 {api['p50']:.1f} ms; {base}",
        },
        {
            "name": "dashboard / p99",
            "value": overview["p99"],
            "unit": "ms",
            "compared_with": f"goal < 300 ms (charts over 24 h); p50 {overview['p50']:.1f} ms",
        },
        {
            "name": "dashboard call page p99",
            "value": page["p99"],
            "unit": "ms",
            "compared_with": f"goal < 300 ms; p50 {page['p50']:.1f} ms; {base}",
        },
    ]
