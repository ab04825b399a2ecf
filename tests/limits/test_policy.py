"""CallLimits on real SQLite and PostgreSQL: daily counts, phone caps, the live-call cap."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gateway.config import ConfigError
from gateway.limits.policy import CallLimits, LimitReached
from gateway.limits.rules import Usage, load_rules
from gateway.store.calls import CallRepository
from gateway.store.database import Database
from gateway.store.tables import CallRow

NOON = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
ADA = Usage(kind="web", slack_user="T1/UADA")
ADA_DIALS = Usage(kind="phone", slack_user="T1/UADA")


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def limits(db: Database, table: dict[str, Any], clock: Clock | None = None) -> CallLimits:
    return CallLimits(db, load_rules({}, table), clock=clock or Clock(NOON))


async def refused(limits: CallLimits, usage: Usage) -> LimitReached:
    with pytest.raises(LimitReached) as caught:
        await limits.reserve(usage)
    return caught.value


async def test_the_n_plus_first_call_of_a_slack_user_in_a_day_is_refused(db: Database) -> None:
    clock = Clock(NOON)
    policy = limits(db, {"calls_per_slack_user_per_day": 3}, clock)
    for _ in range(3):
        await (await policy.reserve(ADA)).settle()
    reached = await refused(policy, ADA)
    assert reached.limit == "calls_per_slack_user_per_day"
    assert reached.subject == "T1/UADA" and reached.allowed == 3
    assert reached.resets_at == datetime(2026, 3, 11, tzinfo=UTC)
    assert reached.retry_after == 12 * 3600
    # Another user has a count of their own; the next day Ada starts again.
    await policy.reserve(Usage(kind="web", slack_user="T1/UBOB"))
    clock.now = NOON + timedelta(days=1)
    await policy.reserve(ADA)


async def test_a_cancelled_reservation_gives_its_count_back(db: Database) -> None:
    policy = limits(db, {"calls_per_hook_per_day": 1})
    lead = Usage(kind="web", hook="new-lead")
    await (await policy.reserve(lead)).cancel()  # the upstream said no: nothing started
    await policy.reserve(lead)
    assert (await refused(policy, lead)).limit == "calls_per_hook_per_day"


async def test_a_phone_call_counts_against_both_caps_and_a_web_call_only_against_all(
    db: Database,
) -> None:
    policy = limits(
        db, {"calls_per_slack_user_per_day": 3, "phone_calls_per_slack_user_per_day": 1}
    )
    await policy.reserve(ADA_DIALS)
    reached = await refused(policy, ADA_DIALS)
    assert reached.limit == "phone_calls_per_slack_user_per_day"
    await policy.reserve(ADA)  # web calls are still allowed: 2 and 3 of 3
    await policy.reserve(ADA)
    assert (await refused(policy, ADA)).limit == "calls_per_slack_user_per_day"


async def test_a_refusal_counts_nothing_anywhere(db: Database) -> None:
    # The gateway-wide count is taken first; the user's limit then refuses: all is undone.
    policy = limits(db, {"calls_per_day": 10, "calls_per_slack_user_per_day": 0})
    await refused(policy, ADA)
    report = {(u.limit, u.subject): u.used for u in await policy.report()}
    assert report[("calls_per_day", "*")] == 0


async def test_own_limits_of_a_hook_and_a_user_override_the_defaults(db: Database) -> None:
    policy = limits(
        db,
        {
            "calls_per_hook_per_day": 5,
            "hooks": {"vip": {"calls_per_day": 1}},
            "phone_calls_per_slack_user_per_day": 0,
            "slack_users": {"UADA": {"phone_calls_per_day": 2}},
        },
    )
    await policy.reserve(Usage(kind="web", hook="vip"))
    assert (await refused(policy, Usage(kind="web", hook="vip"))).allowed == 1
    await policy.reserve(Usage(kind="web", hook="other"))
    await policy.reserve(ADA_DIALS)  # Ada may dial twice; everybody else not at all
    assert (await refused(policy, Usage(kind="phone", slack_user="T1/UBOB"))).allowed == 0


async def test_days_follow_the_limits_time_zone(db: Database) -> None:
    clock = Clock(datetime(2026, 3, 10, 22, 30, tzinfo=UTC))  # 23:30 in Paris
    policy = limits(db, {"calls_per_day": 1, "timezone": "Europe/Paris"}, clock)
    await policy.reserve(ADA)
    reached = await refused(policy, ADA)
    assert reached.resets_at == datetime(2026, 3, 10, 23, 0, tzinfo=UTC)  # Paris midnight
    clock.now = datetime(2026, 3, 10, 23, 0, 1, tzinfo=UTC)
    await policy.reserve(ADA)


async def test_two_replicas_racing_take_exactly_the_limit(database_url: str) -> None:
    # Two processes' worth of engines on one database, 40 concurrent starts, a limit of 7.
    replicas = [Database(database_url), Database(database_url)]
    await replicas[0].migrate()
    try:
        policies = [limits(r, {"calls_per_hook_per_day": 7}) for r in replicas]
        lead = Usage(kind="web", hook="new-lead")

        async def attempt(i: int) -> bool:
            try:
                await policies[i % 2].reserve(lead)
            except LimitReached:
                return False
            return True

        outcomes = await asyncio.gather(*(attempt(i) for i in range(40)))
        assert sum(outcomes) == 7
        report = await policies[0].report()
        assert [(u.subject, u.used, u.allowed) for u in report if u.scope == "hook"] == [
            ("new-lead", 7, 7)
        ]
    finally:
        for replica in replicas:
            await replica.dispose()


async def test_the_live_cap_counts_running_calls_and_calls_being_started(db: Database) -> None:
    policy = limits(db, {"live_calls": 2})
    first = await policy.reserve(ADA)  # being started: holds a place
    async with db.session() as session:
        await CallRepository(session).add(
            CallRow(
                id="call_a",
                agent_id="agt_1",
                origin_kind="slack",
                origin_name="T1/UADA",
                state="started",
            )
        )
    await first.settle()  # stored: the call itself now counts
    second = await policy.reserve(ADA)
    reached = await refused(policy, ADA)
    assert reached.limit == "live_calls" and reached.resets_at is None
    assert reached.retry_after > 0
    await second.cancel()  # that start failed: its place is free again
    third = await policy.reserve(ADA)
    live = [u for u in await policy.report() if u.limit == "live_calls"]
    assert [(u.used, u.allowed) for u in live] == [(2, 2)]
    await third.cancel()
    async with db.session() as session:
        row = await CallRepository(session).get("call_a")
        assert row is not None
        row.state = "ended"  # the call is over: it no longer counts
    await policy.reserve(ADA)
    await policy.reserve(ADA)


async def test_no_limit_configured_counts_nothing(db: Database) -> None:
    policy = limits(db, {})
    assert not policy.enabled
    for _ in range(3):
        await policy.reserve(ADA)
    assert await policy.report() == []


def test_a_wrong_limits_table_names_the_key() -> None:
    with pytest.raises(ConfigError, match=r"\[limits\] calls_per_day"):
        load_rules({}, {"calls_per_day": -1}, path="gw.toml")
    with pytest.raises(ConfigError, match=r"\[limits\] dailly"):
        load_rules({}, {"dailly": 3}, path="gw.toml")
    with pytest.raises(ConfigError, match="unknown time zone"):
        load_rules({}, {"timezone": "Mars/Olympus"}, path="gw.toml")


def test_the_table_overrides_the_settings() -> None:
    rules = load_rules({"calls_per_day": 100, "live_calls": 5}, {"calls_per_day": 10})
    assert rules.defaults == {"calls_per_day": 10}
    assert rules.live_calls == 5
