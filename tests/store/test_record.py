"""`idempotency.record`: the call, its first event and join link, and the key's answer, in
one unit; on PostgreSQL in one statement. The same outcomes on both databases."""

from __future__ import annotations

import secrets
from datetime import timedelta
from functools import partial
from typing import Any

import sqlalchemy as sa

from gateway.store import idempotency as intents
from gateway.store.database import Database
from gateway.store.record_statement import record_in_one
from gateway.store.tables import CallEventRow, CallRow, IdempotencyKeyRow, JoinLinkRow, utcnow


async def _claim(db: Database) -> str:
    start_id = intents.new_start_id("gst_")
    intent = intents.Intent(
        scope="hook:test",
        key=secrets.token_hex(8),
        fingerprint="f",
        start_id=start_id,
        agent_id="agt_1",
        detail={"agent_name": "sales"},
    )
    claim = await db.write(partial(intents.claim, intent=intent, grace=30))
    assert claim.outcome == "claimed"
    return start_id


def _call_and_link(*, with_link: bool = True) -> tuple[dict[str, Any], dict[str, Any] | None]:
    now = utcnow()
    call_id = "call_" + secrets.token_hex(8)
    call = {
        "id": call_id,
        "agent_id": "agt_1",
        "agent_name": "sales",
        "origin_kind": "hook",
        "origin_name": "crm",
        "origin_context": {"record": 7},
        "destinations": [{"kind": "log", "key": "log"}],
        "state": "started",
        "upstream_status": "queued",
        "created_at": now,
        "updated_at": now,
        "next_poll_at": now + timedelta(seconds=5),
    }
    link = {
        "id": "lnk_" + secrets.token_urlsafe(12),
        "call_id": call_id,
        "agent_name": "sales",
        "server_url_enc": "v2.server",
        "participant_token_enc": "v2.token",
        "created_at": now,
        "expires_at": now + timedelta(hours=1),
    }
    return call, (link if with_link else None)


def _record(start_id: str, call: dict[str, Any], link: dict[str, Any] | None) -> Any:
    body = {"call_id": call["id"], "join_url": "http://127.0.0.1/join/x"}
    return partial(
        intents.record,
        start_id=start_id,
        call=call,
        link=link,
        status=202,
        body=body,
        detail="started by hook",
    )


async def _stored(db: Database, call_id: str) -> dict[str, Any]:
    async with db.read() as session:
        call = (await session.execute(sa.select(CallRow).where(CallRow.id == call_id))).scalar()
        events = (
            await session.execute(
                sa.select(CallEventRow.to_state, CallEventRow.detail).where(
                    CallEventRow.call_id == call_id
                )
            )
        ).all()
        links = (
            await session.execute(sa.select(JoinLinkRow.id).where(JoinLinkRow.call_id == call_id))
        ).scalars()
        key = (
            await session.execute(
                sa.select(IdempotencyKeyRow).where(IdempotencyKeyRow.call_id == call_id)
            )
        ).scalar()
        return {"call": call, "events": list(events), "links": list(links), "key": key}


async def test_a_recorded_start_stores_call_event_link_and_the_keys_answer(db: Database) -> None:
    start_id = await _claim(db)
    call, link = _call_and_link()
    assert await db.write(_record(start_id, call, link)) == intents.Recorded("recorded")
    stored = await _stored(db, call["id"])
    row = stored["call"]
    assert row.state == "started" and row.agent_name == "sales"
    assert row.origin_context == {"record": 7} and row.destinations == call["destinations"]
    assert row.poll_count == 0 and row.call_type == "web"  # the columns' defaults
    assert row.next_poll_at == call["next_poll_at"]
    assert stored["events"] == [("started", "started by hook")]
    assert link is not None and stored["links"] == [link["id"]]
    key = stored["key"]
    assert key.state == "done" and key.start_id == start_id and key.response_status == 202
    assert key.response_body["call_id"] == call["id"]


async def test_recording_again_answers_resolved_and_writes_nothing_twice(db: Database) -> None:
    start_id = await _claim(db)
    call, link = _call_and_link()
    await db.write(_record(start_id, call, link))
    again = await db.write(_record(start_id, call, link))
    assert again.outcome == "resolved" and again.body is not None
    assert again.body["call_id"] == call["id"]
    stored = await _stored(db, call["id"])
    assert len(stored["events"]) == 1 and len(stored["links"]) == 1


async def test_a_start_whose_intent_is_gone_is_stored_as_an_orphan(db: Database) -> None:
    start_id = await _claim(db)
    assert await db.write(partial(intents.release, start_id=start_id))
    call, _ = _call_and_link(with_link=False)
    assert (await db.write(_record(start_id, call, None))).outcome == "orphan"
    stored = await _stored(db, call["id"])
    assert stored["call"] is not None and stored["events"] == [("started", "started by hook")]
    assert stored["links"] == [] and stored["key"] is None  # tracked and delivered all the same


async def test_a_start_without_a_join_link(db: Database) -> None:
    start_id = await _claim(db)
    call, _ = _call_and_link(with_link=False)
    assert (await db.write(_record(start_id, call, None))).outcome == "recorded"
    stored = await _stored(db, call["id"])
    assert stored["call"] is not None and stored["links"] == []
    assert stored["key"].state == "done"


async def test_on_postgresql_the_record_is_one_statement_that_writes_all_or_nothing(
    postgres_url: str,
) -> None:
    db = Database(postgres_url)
    try:
        await db.migrate()
        start_id = await _claim(db)
        call, link = _call_and_link()
        one = partial(
            record_in_one,
            start_id=start_id,
            call=call,
            link=link,
            status=202,
            body={"call_id": call["id"]},
            detail="started by hook",
        )
        assert await db.write(one) is True
        assert len((await _stored(db, call["id"]))["events"]) == 1
        # The key is done now: a second try writes nothing at all (no second event or link).
        other, other_link = _call_and_link()
        again = partial(one, call=other, link=other_link)
        assert await db.write(again) is False
        stored = await _stored(db, other["id"])
        assert stored["call"] is None and stored["events"] == [] and stored["links"] == []
    finally:
        await db.dispose()
