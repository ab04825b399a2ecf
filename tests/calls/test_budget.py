"""However many calls need a look at once, OneInbox sees no more than the poll budget."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.store.tables import CallRow
from tests.calls.harness import HOOK_TOKEN, hook_toml, local_gateway
from tests.support.gateway import run_in_store
from tests.support.servers import wait_until

CALLS = 30
BUDGET = 10


def states(database_url: str, call_ids: list[str]) -> list[str]:
    """The calls' states, in one read (a store opened per call made each look cost ~0.1 s
    of CPU while the gateway was being timed)."""

    async def read(session: AsyncSession) -> list[str]:
        rows = await session.execute(sa.select(CallRow.state).where(CallRow.id.in_(call_ids)))
        return [str(state) for state in rows.scalars()]

    return run_in_store(database_url, read)


def test_thirty_hinted_calls_are_read_at_the_budgets_pace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_HOOK_TOKEN", HOOK_TOKEN)
    config = hook_toml(agent="create", callbacks=[])
    with local_gateway(
        tmp_path, config, poll_budget_per_second=BUDGET, poll_interval_seconds=30
    ) as gw:
        # The joins' hints go to the webhook the gateway registers as it starts: without it
        # the calls would wait for the 30 s poll (seen on a loaded CI machine).
        wait_until(gw.sim_webhooks, what="webhook registered")
        call_ids = [gw.start_call()["call_id"] for _ in range(CALLS)]
        for call_id in call_ids:
            gw.join_call(call_id)  # each join sends a call.started hint: all due at once
        url = gw.ctx.settings.database_url
        wait_until(
            lambda: states(url, call_ids) == ["live"] * CALLS,
            timeout=20,
            interval=0.25,
            what="every call seen live",
        )
        stats = httpx.get(gw.sim + "/_sim/stats").json()
        exported = httpx.get(gw.url + "/metrics").text
    per_second = [counts.get("GET /v1/calls/{id}", 0) for counts in stats["per_second"].values()]
    assert sum(per_second) >= CALLS
    polls = next(
        float(line.split()[-1])
        for line in exported.splitlines()
        if line.startswith("gateway_polls_total")
    )
    assert polls >= CALLS  # the tracker's requests are counted like every other
    # A bucket of one token: at most the budget plus that one token in any second.
    assert max(per_second) <= BUDGET + 1, per_second
    assert len([n for n in per_second if n]) >= CALLS // BUDGET  # spread over seconds
