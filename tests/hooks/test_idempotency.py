"""Idempotency under real concurrency, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from functools import partial
from pathlib import Path

import httpx
import sqlalchemy as sa

from gateway.store import idempotency as intents
from gateway.store.database import Database
from gateway.store.idempotency import Claim, Intent, request_hash
from gateway.store.tables import IdempotencyKeyRow, utcnow
from tests.support.hooks import Gateway, gateway
from tests.support.servers import wait_until

CONFIG = """
[agents.sales]
create = { first_message = "Hi!" }

[hooks.new-lead]
agent = "sales"
auth = { scheme = "bearer", token_env = "NEW_LEAD_TOKEN" }
variables = { customer_name = "body.firstname" }
idempotency_key = "body.hs_object_id"
"""
AUTH = {"Authorization": "Bearer lead-token-0123456789"}
LEAD = {"hs_object_id": "51", "firstname": "Ada"}


def slow_upstream(gw: Gateway, seconds: float) -> None:
    response = httpx.patch(
        f"{gw.url}/oneinbox-sim/_sim/config", json={"latency_seconds": seconds}, timeout=10
    )
    assert response.status_code == 200, response.text


def burst(gw: Gateway, n: int, **kwargs: object) -> list[httpx.Response]:
    with ThreadPoolExecutor(max_workers=n) as pool:
        futures = [pool.submit(gw.post, "new-lead", **kwargs) for _ in range(n)]
        return [f.result() for f in futures]


def test_concurrent_identical_requests_start_one_call(tmp_path: Path, database_url: str) -> None:
    with gateway(tmp_path, CONFIG, database_url=database_url) as gw:
        assert gw.post("new-lead", json={**LEAD, "hs_object_id": "1"}, headers=AUTH).is_success
        slow_upstream(gw, 0.5)
        responses = burst(gw, 8, json=LEAD, headers={**AUTH, "Idempotency-Key": "lead-51"})
        statuses = sorted(r.status_code for r in responses)
        assert statuses.count(202) == 1 and statuses.count(409) == 7, statuses
        conflict = next(r for r in responses if r.status_code == 409)
        assert conflict.json()["error"]["code"] == "in_progress"
        winner = next(r for r in responses if r.status_code == 202).json()
        slow_upstream(gw, 0)
        again = gw.post("new-lead", json=LEAD, headers={**AUTH, "Idempotency-Key": "lead-51"})
        assert again.status_code == 202 and again.json() == winner
        assert gw.count("calls") == 2
        assert len(gw.simulator.calls) == 2


def test_the_configured_key_expression_dedupes_without_a_header(
    tmp_path: Path, database_url: str
) -> None:
    with gateway(tmp_path, CONFIG, database_url=database_url) as gw:
        responses = burst(gw, 6, json=LEAD, headers=AUTH)
        ok = [r.json() for r in responses if r.status_code == 202]
        assert ok and all(body == ok[0] for body in ok)
        assert {r.status_code for r in responses} <= {202, 409}
        assert gw.count("calls") == 1


def test_same_key_with_another_body_is_422_and_starts_nothing(tmp_path: Path) -> None:
    with gateway(tmp_path, CONFIG) as gw:
        assert gw.post("new-lead", json=LEAD, headers=AUTH).status_code == 202
        changed = {**LEAD, "firstname": "Eve"}
        response = gw.post("new-lead", json=changed, headers=AUTH)
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "idempotency_key_reused"
        assert gw.count("calls") == 1


def test_the_header_wins_over_the_configured_key(tmp_path: Path) -> None:
    with gateway(tmp_path, CONFIG) as gw:
        one = gw.post("new-lead", json=LEAD, headers={**AUTH, "Idempotency-Key": "a"})
        two = gw.post("new-lead", json=LEAD, headers={**AUTH, "Idempotency-Key": "b"})
        assert one.status_code == two.status_code == 202
        assert one.json()["call_id"] != two.json()["call_id"]


def test_an_upstream_refusal_gives_the_key_back(tmp_path: Path) -> None:
    """A 4xx certainly started nothing: the key is free for the retry at once."""
    with gateway(tmp_path, CONFIG) as gw:
        assert gw.post("new-lead", json={**LEAD, "hs_object_id": "0"}, headers=AUTH).is_success
        sim = gw.simulator
        agent = next(iter(sim.agents))
        model = sim.agents.pop(agent)  # OneInbox no longer knows the agent: a 404
        failed = gw.post("new-lead", json=LEAD, headers=AUTH)
        assert failed.status_code == 422, failed.text
        assert gw.count("calls") == 1 and gw.count("idempotency_keys") == 1
        sim.agents[agent] = model
        retried = gw.post("new-lead", json=LEAD, headers=AUTH)
        assert retried.status_code == 202
        assert gw.count("calls") == 2


def test_a_5xx_keeps_the_key_until_the_reconciler_finds_no_call(tmp_path: Path) -> None:
    """A 5xx may have started the call: a retry gets 409 + Retry-After, never a second start;
    once the reconciler finds no call upstream, the key is released and the retry starts one."""
    with gateway(tmp_path, CONFIG, intent_grace_seconds=2.0) as gw:
        assert gw.post("new-lead", json={**LEAD, "hs_object_id": "0"}, headers=AUTH).is_success
        httpx.patch(f"{gw.url}/oneinbox-sim/_sim/config", json={"error_rate_5xx": 1.0})
        failed = gw.post("new-lead", json=LEAD, headers=AUTH)
        assert failed.status_code == 502
        httpx.patch(f"{gw.url}/oneinbox-sim/_sim/config", json={"error_rate_5xx": 0.0})
        early = gw.post("new-lead", json=LEAD, headers=AUTH)
        assert early.status_code == 409, early.text
        assert early.json()["error"]["code"] == "in_progress"
        assert float(early.headers["Retry-After"]) >= 1
        assert len(gw.simulator.calls) == 1

        def retried() -> httpx.Response | None:
            answer = gw.post("new-lead", json=LEAD, headers=AUTH)
            return answer if answer.status_code == 202 else None

        wait_until(retried, timeout=15, interval=0.3, what="the key to be released")
        assert gw.count("calls") == 2 and len(gw.simulator.calls) == 2


def _intent(scope: str, key: str, fingerprint: str) -> Intent:
    start_id = "gst_" + uuid.uuid4().hex
    return Intent(scope, key, fingerprint, start_id, agent_id="agt_x", detail={})


async def _claim(db: Database, scope: str, key: str, fingerprint: str) -> Claim:
    return await db.write(
        partial(intents.claim, intent=_intent(scope, key, fingerprint), grace=60.0)
    )


async def _finish(db: Database, start_id: str | None, body: dict[str, object]) -> None:
    assert start_id is not None

    def unit(conn: sa.Connection) -> None:
        conn.execute(
            sa.update(intents.KEYS)
            .where(intents.KEYS.c.start_id == start_id)
            .values(state="done", response_status=202, response_body=body)
        )

    await db.write(unit)


async def test_two_replicas_claiming_one_key_at_once(database_url: str) -> None:
    """Two engines (as two processes would have) race for the same keys: one wins each."""
    first, second = Database(database_url), Database(database_url)
    await first.migrate()
    fingerprint = request_hash(json.dumps(LEAD).encode())
    try:
        claims: dict[str, Claim] = {}
        for key in [f"k{i}" for i in range(20)]:
            outcomes = await asyncio.gather(
                _claim(first, "hook:x", key, fingerprint),
                _claim(second, "hook:x", key, fingerprint),
            )
            assert sorted(c.outcome for c in outcomes) == ["claimed", "in_progress"], outcomes
            claims[key] = next(c for c in outcomes if c.outcome == "claimed")
            waiting = next(c for c in outcomes if c.outcome == "in_progress")
            assert waiting.retry_after is not None and waiting.retry_after >= 1
        await _finish(first, claims["k0"].start_id, {"call_id": "c"})
        assert claims["k1"].start_id is not None
        assert await first.write(partial(intents.release, start_id=claims["k1"].start_id))
        replay = await _claim(second, "hook:x", "k0", fingerprint)
        assert (replay.outcome, replay.status, replay.body) == ("replay", 202, {"call_id": "c"})
        assert (await _claim(second, "hook:x", "k1", fingerprint)).outcome == "claimed"
        assert (await _claim(second, "hook:x", "k2", "other")).outcome == "mismatch"
        assert (await _claim(second, "hook:y", "k2", fingerprint)).outcome == "claimed"
    finally:
        await first.dispose()
        await second.dispose()


async def test_an_expired_key_can_be_claimed_again(sqlite_url: str) -> None:
    db = Database(sqlite_url)
    await db.migrate()
    try:
        first = await _claim(db, "s", "k", "h1")
        assert first.outcome == "claimed"
        await _finish(db, first.start_id, {"call_id": "old"})

        def expire(conn: sa.Connection) -> None:
            conn.execute(sa.update(intents.KEYS).values(expires_at=utcnow() - timedelta(hours=1)))

        await db.write(expire)
        assert (await _claim(db, "s", "k", "h2")).outcome == "claimed"
    finally:
        await db.dispose()


async def test_the_janitor_deletes_only_expired_finished_keys(sqlite_url: str) -> None:
    from integrations.hooks.janitor import IdempotencyJanitor

    db = Database(sqlite_url)
    await db.migrate()
    try:
        claims = {key: await _claim(db, "s", key, "h") for key in ("old", "new", "unresolved")}
        for key in ("old", "new"):
            await _finish(db, claims[key].start_id, {})

        def age(conn: sa.Connection) -> None:
            conn.execute(
                sa.update(intents.KEYS)
                .where(intents.KEYS.c.key.in_(["old", "unresolved"]))
                .values(expires_at=utcnow() - timedelta(seconds=1))
            )

        await db.write(age)
        assert await IdempotencyJanitor(db).purge_once() == 1
        async with db.read() as session:
            keys = (await session.execute(sa.select(IdempotencyKeyRow.key))).scalars().all()
        assert sorted(keys) == ["new", "unresolved"]  # an unresolved intent waits for its answer
    finally:
        await db.dispose()


async def test_long_keys_that_share_a_prefix_are_different_keys(sqlite_url: str) -> None:
    db = Database(sqlite_url)
    await db.migrate()
    try:
        first, second = "k" * 400 + "1", "k" * 400 + "2"
        claimed = await _claim(db, "s", first, "h1")
        assert claimed.outcome == "claimed"
        assert (await _claim(db, "s", second, "h2")).outcome == "claimed"
        await _finish(db, claimed.start_id, {"n": 1})
        replay = await _claim(db, "s", first, "h1")
        assert (replay.outcome, replay.body) == ("replay", {"n": 1})
    finally:
        await db.dispose()
