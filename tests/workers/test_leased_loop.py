"""`LeasedLoop`, the claim loop the call tracker and the outbox share: it leases calls from a
real store here (`claim_due_calls`), and the items are handled by the test's own coroutines,
which hold until the test lets them go. Every wait is for a condition, with a deadline."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from functools import partial

import sqlalchemy as sa

from gateway.store.call_leases import claim_due_calls
from gateway.store.database import Database
from gateway.store.tables import CallRow, utcnow
from gateway.workers import LeasedLoop

UNFOLLOWED = ["delivered", "lost"]  # the calls here are all `started`
DEADLINE = 10.0


async def due_calls(db: Database, ids: list[str]) -> None:
    async with db.session() as session:
        for call_id in ids:
            session.add(
                CallRow(
                    id=call_id,
                    agent_id="agt_1",
                    origin_kind="hook",
                    origin_name="crm",
                    state="started",
                    next_poll_at=utcnow(),
                )
            )


async def leased_to(db: Database, owner: str) -> set[str]:
    async with db.session() as session:
        rows = await session.execute(sa.select(CallRow.id).where(CallRow.lease_owner == owner))
        return set(rows.scalars())


class Rig:
    """The owner's side of a loop: leases calls for `owner`, handles each until let go."""

    def __init__(self, db: Database, *, owner: str = "worker-1") -> None:
        self.db = db
        self.owner = owner
        self.limits: list[int] = []  # what each claim asked for
        self.claims_done = 0
        self.running: set[str] = set()
        self.most_running = 0
        self.handled: list[str] = []
        self.cancelled: list[str] = []
        self.gate = asyncio.Event()  # handlers hold until this is set
        self.fail: Callable[[str], bool] = lambda call_id: False
        self.claim_fails = 0  # how many claims to fail first
        self.changed = asyncio.Condition()

    async def claim(self, limit: int) -> list[str]:
        await self._note(lambda: self.limits.append(limit))
        if self.claim_fails > 0:
            self.claim_fails -= 1
            raise RuntimeError("the store is away")
        claimed = await self.db.write(
            partial(
                claim_due_calls,
                unfollowed=UNFOLLOWED,
                owner=self.owner,
                limit=limit,
                until=utcnow() + timedelta(seconds=60),
                skip_locked=self.db.is_postgres,
            )
        )
        await self._note(lambda: setattr(self, "claims_done", self.claims_done + 1))
        return claimed

    async def handle(self, call_id: str) -> None:
        await self._note(lambda: self._begin(call_id))
        try:
            await self.gate.wait()
            if self.fail(call_id):
                raise RuntimeError(f"{call_id} is broken")
            await self._note(lambda: self.handled.append(call_id))
        except asyncio.CancelledError:
            self.cancelled.append(call_id)
            raise
        finally:
            await self._note(lambda: self.running.discard(call_id))

    def loop(
        self, *, concurrency: int = 4, idle: float = 60.0, grace: float = 5.0
    ) -> LeasedLoop[str]:
        return LeasedLoop(
            "test-loop",
            claim=self.claim,
            handle=self.handle,
            label=lambda call_id: call_id,
            concurrency=concurrency,
            idle_seconds=idle,
            grace=grace,
        )

    def _begin(self, call_id: str) -> None:
        self.running.add(call_id)
        self.most_running = max(self.most_running, len(self.running))

    async def _note(self, change: Callable[[], object]) -> None:
        async with self.changed:
            change()
            self.changed.notify_all()

    async def until(self, condition: Callable[[], bool], what: str) -> None:
        try:
            async with asyncio.timeout(DEADLINE), self.changed:
                await self.changed.wait_for(condition)
        except TimeoutError:
            raise AssertionError(f"not within {DEADLINE} s: {what}") from None


async def test_no_more_items_run_at_once_than_the_bound_and_the_rest_stay_unleased(
    db: Database,
) -> None:
    ids = [f"call_{n}" for n in range(10)]
    await due_calls(db, ids)
    rig = Rig(db)
    loop = rig.loop(concurrency=3)
    await loop.start()
    try:
        await rig.until(lambda: len(rig.running) == 3, "three items running")
        assert loop.in_flight == 3
        assert len(await leased_to(db, rig.owner)) == 3  # the other seven stay in the store
        rig.gate.set()
        await rig.until(lambda: len(rig.handled) == 10, "every item handled")
    finally:
        assert await loop.stop() == []
    assert sorted(rig.handled) == sorted(ids)  # each once
    assert rig.most_running == 3
    assert all(0 < limit <= 3 for limit in rig.limits)


async def test_stop_lets_items_in_flight_finish_and_claims_no_more(db: Database) -> None:
    await due_calls(db, ["call_a", "call_b", "call_c"])
    rig = Rig(db)
    loop = rig.loop(concurrency=2)
    await loop.start()
    await rig.until(lambda: len(rig.running) == 2, "two items running")
    stopping = asyncio.create_task(loop.stop())
    claims = len(rig.limits)
    done, _ = await asyncio.wait({stopping}, timeout=0.5)
    assert not done  # stop waits for the items in flight ...
    assert rig.cancelled == []
    rig.gate.set()
    assert await asyncio.wait_for(stopping, DEADLINE) == []  # ... and they all finished
    assert len(rig.handled) == 2
    assert rig.cancelled == []
    assert len(rig.limits) == claims  # a slot freed while stopping claims nothing
    assert len(await leased_to(db, rig.owner)) == 2  # the third call was never claimed
    assert loop.in_flight == 0


async def test_stop_cancels_what_outlives_the_grace_and_hands_it_back(db: Database) -> None:
    await due_calls(db, ["call_slow"])
    rig = Rig(db)
    loop = rig.loop(grace=0.2)
    await loop.start()
    await rig.until(lambda: rig.running == {"call_slow"}, "the item running")
    assert await asyncio.wait_for(loop.stop(), DEADLINE) == ["call_slow"]  # gate never opens
    assert rig.cancelled == ["call_slow"]
    assert rig.handled == []
    assert loop.in_flight == 0


async def test_a_failing_item_or_claim_does_not_stop_the_loop(db: Database) -> None:
    await due_calls(db, ["call_bad", "call_good"])
    rig = Rig(db)
    rig.fail = lambda call_id: call_id == "call_bad"
    rig.claim_fails = 1
    rig.gate.set()
    loop = rig.loop(idle=0.05)  # the failed claim is retried after the idle wait
    await loop.start()
    try:
        await rig.until(lambda: rig.handled == ["call_good"], "the good item handled")
        await rig.until(lambda: loop.in_flight == 0 and not rig.running, "the bad item over")
        await due_calls(db, ["call_later"])
        loop.wake()
        await rig.until(lambda: "call_later" in rig.handled, "a later item handled")
    finally:
        await loop.stop()
    assert "call_bad" not in rig.handled


async def test_a_poke_wakes_the_idle_loop_at_once(db: Database) -> None:
    rig = Rig(db)
    rig.gate.set()
    loop = rig.loop(idle=3600.0)  # without a poke it would not look again for an hour
    await loop.start()
    try:
        await rig.until(lambda: rig.claims_done >= 1, "the first (empty) claim over")
        claims = len(rig.limits)
        await due_calls(db, ["call_new"])
        loop.wake()
        await rig.until(lambda: rig.handled == ["call_new"], "the new item handled")
    finally:
        await loop.stop()
    assert len(rig.limits) - claims <= 2  # the poked claim and one when its slot freed
