"""Idempotency under real concurrency, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from gateway.store.database import Database
from gateway.store.idempotency import IdempotencyKeyRepository, request_hash
from tests.support.hooks import Gateway, gateway

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


def test_an_upstream_failure_gives_the_key_back(tmp_path: Path) -> None:
    with gateway(tmp_path, CONFIG) as gw:
        assert gw.post("new-lead", json={**LEAD, "hs_object_id": "0"}, headers=AUTH).is_success
        httpx.patch(f"{gw.url}/oneinbox-sim/_sim/config", json={"error_rate_5xx": 1.0})
        failed = gw.post("new-lead", json=LEAD, headers=AUTH)
        assert failed.status_code == 502
        assert gw.count("calls") == 1 and gw.count("idempotency_keys") == 1
        httpx.patch(f"{gw.url}/oneinbox-sim/_sim/config", json={"error_rate_5xx": 0.0})
        retried = gw.post("new-lead", json=LEAD, headers=AUTH)
        assert retried.status_code == 202
        assert gw.count("calls") == 2


async def test_two_replicas_claiming_one_key_at_once(database_url: str) -> None:
    """Two engines (as two processes would have) race for the same keys: one wins each."""
    first, second = Database(database_url), Database(database_url)
    await first.migrate()
    fingerprint = request_hash(json.dumps(LEAD).encode())

    async def claim(db: Database, key: str) -> str:
        async with db.session() as session:
            result = await IdempotencyKeyRepository(session).claim("hook:x", key, fingerprint)
            return result.outcome

    try:
        for key in [f"k{i}" for i in range(20)]:
            outcomes = await asyncio.gather(claim(first, key), claim(second, key))
            assert sorted(outcomes) == ["claimed", "in_progress"], outcomes
        async with first.session() as session:
            repo = IdempotencyKeyRepository(session)
            await repo.complete("hook:x", "k0", 202, {"call_id": "c"})
            await repo.release("hook:x", "k1")
        async with second.session() as session:
            repo = IdempotencyKeyRepository(session)
            replay = await repo.claim("hook:x", "k0", fingerprint)
            assert (replay.outcome, replay.status, replay.body) == ("replay", 202, {"call_id": "c"})
            assert (await repo.claim("hook:x", "k1", fingerprint)).outcome == "claimed"
            assert (await repo.claim("hook:x", "k2", "other")).outcome == "mismatch"
            assert (await repo.claim("hook:y", "k2", fingerprint)).outcome == "claimed"
    finally:
        await first.dispose()
        await second.dispose()


async def test_an_expired_key_can_be_claimed_again(sqlite_url: str) -> None:
    from datetime import timedelta

    import sqlalchemy as sa

    from gateway.store.tables import IdempotencyKeyRow, utcnow

    db = Database(sqlite_url)
    await db.migrate()
    try:
        async with db.session() as session:
            repo = IdempotencyKeyRepository(session)
            assert (await repo.claim("s", "k", "h1")).outcome == "claimed"
            await repo.complete("s", "k", 202, {"call_id": "old"})
            await session.execute(
                sa.update(IdempotencyKeyRow).values(expires_at=utcnow() - timedelta(hours=1))
            )
        async with db.session() as session:
            assert (await IdempotencyKeyRepository(session).claim("s", "k", "h2")).outcome == (
                "claimed"
            )
    finally:
        await db.dispose()


async def test_the_janitor_deletes_only_expired_keys(sqlite_url: str) -> None:
    from datetime import timedelta

    import sqlalchemy as sa

    from gateway.store.tables import IdempotencyKeyRow, utcnow
    from integrations.hooks.janitor import IdempotencyJanitor

    db = Database(sqlite_url)
    await db.migrate()
    try:
        async with db.session() as session:
            repo = IdempotencyKeyRepository(session)
            for key in ("old", "new"):
                assert (await repo.claim("s", key, "h")).outcome == "claimed"
            await session.execute(
                sa.update(IdempotencyKeyRow)
                .where(IdempotencyKeyRow.key == "old")
                .values(expires_at=utcnow() - timedelta(seconds=1))
            )
        assert await IdempotencyJanitor(db).purge_once() == 1
        async with db.session() as session:
            keys = (await session.execute(sa.select(IdempotencyKeyRow.key))).scalars().all()
        assert keys == ["new"]
    finally:
        await db.dispose()


async def test_long_keys_that_share_a_prefix_are_different_keys(sqlite_url: str) -> None:
    db = Database(sqlite_url)
    await db.migrate()
    try:
        async with db.session() as session:
            repo = IdempotencyKeyRepository(session)
            first, second = "k" * 400 + "1", "k" * 400 + "2"
            assert (await repo.claim("s", first, "h1")).outcome == "claimed"
            assert (await repo.claim("s", second, "h2")).outcome == "claimed"
            await repo.complete("s", first, 202, {"n": 1})
            replay = await repo.claim("s", first, "h1")
            assert (replay.outcome, replay.body) == ("replay", {"n": 1})
    finally:
        await db.dispose()
