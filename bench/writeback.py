"""Write-back throughput: results delivered per second by one outbox, per destination.

300 finished calls (result stored, one delivery each, due now) are put in a SQLite store;
the gateway's `Outbox` (32 tries in flight) delivers them to a stand-in on loopback, served
by uvicorn in a thread of this process, and the time until the last one is `delivered` is
measured. Destinations, each in the same harness so the figures compare:
- the signed callback (`callback`, one POST each, verified by the receiver with the
  `standardwebhooks` package): the reference figure;
- `hubspot_contact` against the HubSpot stand-in (contact check + call create: 2 requests);
- `pipedrive_person` against the Pipedrive stand-in (person check + note: 2 requests);
- `salesforce_record` against the Salesforce org stand-in (one Task create each, after one
  client credentials token for the run: 1 request).
A CRM figure well under half the callback's points at the write-back itself.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench._support import scaled
from gateway.calls.commands import Origin
from gateway.calls.result import CallResult, ResultMessage
from gateway.delivery.callback import CallbackDestination
from gateway.delivery.outbox import Outbox
from gateway.delivery.registry import Destination, DestinationRegistry
from gateway.logging import configure_logging
from gateway.store.database import Database
from gateway.store.deliveries import DeliveryRepository
from gateway.store.tables import CallRow, DeliveryRow
from integrations.hubspot.writeback import HubSpotContactDestination
from integrations.pipedrive.writeback import PipedrivePersonDestination
from integrations.salesforce.destination import SalesforceRecordDestination
from tests.support.fake_hubspot import FakeHubSpot
from tests.support.fake_pipedrive import FakePipedrive
from tests.support.fake_salesforce import FakeSalesforce
from tests.support.receiver import CallbackReceiver
from tests.support.servers import serve_app

RESULTS = scaled(300, 10)
TIMEOUT_S = 120.0


def result(call_id: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    return CallResult(
        call_id=call_id,
        agent_id="agt_bench",
        agent_name="Bench",
        status="completed",
        duration_seconds=95.0,
        outcome="Interested",
        summary="Asked for a demo next Tuesday.",
        messages=[
            ResultMessage(role="agent", content="Hello"),
            ResultMessage(role="user", content="Hi, tell me more."),
        ]
        * 5,
        origin=Origin(kind="hook", name="crm"),
        started_at=now,
        ended_at=now,
    ).model_dump(mode="json")


async def seed(db: Database, kind: str, config: dict[str, Any]) -> None:
    now = datetime.now(UTC)
    async with db.session() as session:
        for i in range(RESULTS):
            call_id = f"call_{kind[:2]}_{i:05d}"
            session.add(
                CallRow(
                    id=call_id,
                    agent_id="agt_bench",
                    agent_name="Bench",
                    origin_kind="hook",
                    origin_name="crm",
                    origin_context={},
                    destinations=[],
                    state="analyzed",
                    result=result(call_id),
                    poll_count=0,
                )
            )
        await session.flush()
        repo = DeliveryRepository(session)
        for i in range(RESULTS):
            call_id = f"call_{kind[:2]}_{i:05d}"
            await repo.add(call_id, kind, f"{kind}:{i}", dict(config), now=now)


async def delivered(db: Database) -> int:
    async with db.session() as session:
        query = (
            sa.select(sa.func.count())
            .select_from(DeliveryRow)
            .where(DeliveryRow.state == "delivered")
        )
        return int((await session.execute(query)).scalar_one())


async def measure(destination: Destination, config: dict[str, Any], tmp: Path) -> float:
    db = Database(f"sqlite+aiosqlite:///{tmp / (destination.name + '.db')}")
    await db.migrate()
    await seed(db, destination.name, config)
    registry = DestinationRegistry()
    registry.register(destination)
    outbox = Outbox(db, registry, identity="bench")
    started = time.perf_counter()
    await outbox.start()
    try:
        while await delivered(db) < RESULTS:
            if time.perf_counter() - started > TIMEOUT_S:
                raise TimeoutError(f"{destination.name}: not all delivered in {TIMEOUT_S} s")
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - started
    finally:
        await outbox.stop()
        await db.dispose()
    return RESULTS / elapsed


def run() -> list[dict[str, Any]]:
    configure_logging(fmt="json", level="warning")  # a line per delivery would be measured too
    receiver = CallbackReceiver()
    hubspot = FakeHubSpot()
    pipedrive = FakePipedrive()
    for i in range(RESULTS):
        hubspot.add_contact(str(1000 + i))
        pipedrive.add_person(1000 + i, f"Person {i}")
    os.environ["BENCH_WHSEC"] = receiver.secret
    os.environ["HUBSPOT_ACCESS_TOKEN"] = hubspot.token
    os.environ["PIPEDRIVE_API_TOKEN"] = pipedrive.token
    salesforce = FakeSalesforce()
    contact = salesforce.add_record("003")
    os.environ["SALESFORCE_CLIENT_ID"] = salesforce.client_id
    os.environ["SALESFORCE_CLIENT_SECRET"] = salesforce.client_secret
    rows: list[dict[str, Any]] = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        serve_app(receiver.app) as rx,
        serve_app(hubspot.app) as hs,
        serve_app(pipedrive.app) as pd,
        serve_app(salesforce.app) as sf,
    ):
        cases: list[tuple[str, Destination, dict[str, Any]]] = [
            (
                "signed callback",
                CallbackDestination(allow_private=True),
                {"url": rx.url + "/hook", "secret_env": "BENCH_WHSEC"},
            ),
            ("HubSpot stand-in", HubSpotContactDestination(hs.url), {"record_id": "1000"}),
            ("Pipedrive stand-in", PipedrivePersonDestination(pd.url), {"record_id": "1000"}),
            (
                "Salesforce stand-in",
                SalesforceRecordDestination(sf.url),
                {
                    "record_id": contact,
                    "client_id_env": "SALESFORCE_CLIENT_ID",
                    "client_secret_env": "SALESFORCE_CLIENT_SECRET",
                },
            ),
        ]
        requests = {"HubSpot stand-in": 2, "Pipedrive stand-in": 2, "Salesforce stand-in": 1}
        reference = None
        for label, destination, config in cases:
            rate = asyncio.run(measure(destination, config, Path(tmp)))
            reference = reference or rate
            rows.append(
                {
                    "name": f"write-back results/s, {label}",
                    "value": round(rate, 1),
                    "unit": "results/s",
                    "compared_with": "reference: one signed POST per result"
                    if label.startswith("signed")
                    else f"{rate / reference:.2f}x the signed callback "
                    f"({requests[label]} request{'s' if requests[label] > 1 else ''} each)",
                }
            )
    return rows
