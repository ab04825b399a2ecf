"""`CallLimits`: take a call's place under every limit before anything starts, or refuse.

`reserve(usage)` runs before the first upstream request of a call. In one transaction it adds
one to each daily counter the call counts against and, when `live_calls` is set, holds a
place among the live calls; if any limit is reached nothing is counted and `LimitReached`
says which. The caller then `settle()`s the reservation once the call is stored (the stored
call now counts as live itself) or `cancel()`s it when the call never started.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.limits.rules import DAILY, GATEWAY_SUBJECT, LIVE_CALLS, LimitRules, Rule, Usage
from gateway.store import usage as counters
from gateway.store.database import Database
from gateway.store.tables import UsageCounterRow, utcnow
from gateway.store.usage import CounterKey, UsageRepository

log = structlog.get_logger(__name__)

# Calls counted as live: running upstream (the state machine's `started` and `live`).
LIVE_STATES = ("started", "live")
# A hold outlives the slowest start (upstream timeout and retries) and then expires by itself.
HOLD_SECONDS = 120.0
# What a sender over the live-call cap is told to wait: calls end in minutes, not seconds.
LIVE_RETRY_AFTER_SECONDS = 60.0
# Counters of days that ended this long ago are deleted (the dashboard shows today only).
KEEP_COUNTERS = timedelta(days=7)


class LimitReached(Exception):
    """A call would go over `limit`; nothing was counted and nothing may start.

    `scope`/`subject` say whose limit (`gateway`/`*`, `hook`/name, `slack_user`/`team/user`);
    `resets_at` is when the day's count starts again (None for the cap on live calls, which
    frees up when a call ends); `retry_after` is the seconds a sender should wait.
    """

    def __init__(
        self,
        *,
        limit: str,
        scope: str,
        subject: str,
        allowed: int,
        resets_at: datetime | None,
        retry_after: float,
    ) -> None:
        self.limit = limit
        self.scope = scope
        self.subject = subject
        self.allowed = allowed
        self.resets_at = resets_at
        self.retry_after = retry_after
        super().__init__(self.describe())

    def describe(self) -> str:
        """One sentence for an API answer: which limit, whose, and when it frees up."""
        if self.limit == LIVE_CALLS:
            return (
                f"limit reached: live_calls ({self.allowed} calls running at once); nothing was "
                "started; retry when a call has ended"
            )
        whose = {"gateway": "the gateway", "hook": f"hook {self.subject!r}"}.get(
            self.scope, f"Slack user {self.subject}"
        )
        what = "phone call" if self.limit.startswith("phone_") else "call"
        what += "" if self.allowed == 1 else "s"
        when = self.resets_at.isoformat().replace("+00:00", "Z") if self.resets_at else "later"
        return (
            f"limit reached: {self.limit} ({self.allowed} {what} a day for {whose}); nothing was "
            f"started; it resets at {when}"
        )


@dataclass
class Reservation:
    """A call's place under the limits, taken before it starts."""

    limits: CallLimits
    keys: list[CounterKey] = field(default_factory=list)
    hold_id: str | None = None
    done: bool = False

    async def settle(self) -> None:
        """The call is stored: it keeps its counts; its live hold is no longer needed."""
        if self.done:
            return
        self.done = True
        if self.hold_id is not None:
            await self.limits.db.write(partial(counters.release, hold_id=self.hold_id))

    async def cancel(self) -> None:
        """The call never started: give every count and the live hold back."""
        if self.done:
            return
        self.done = True
        if not self.keys and self.hold_id is None:
            return
        give_back = partial(counters.give_back, keys=list(self.keys), hold_id=self.hold_id)
        await self.limits.db.write(give_back)


@dataclass(frozen=True)
class LimitUsage:
    """One limit in force and how much of it is used now (for /metrics and the dashboard)."""

    limit: str
    scope: str
    subject: str
    used: int
    allowed: int
    resets_at: datetime | None


class CallLimits:
    """The limits of one gateway, counted in the store (shared by every replica)."""

    def __init__(
        self,
        db: Database,
        rules: LimitRules,
        *,
        on_refused: Callable[[LimitReached], None] | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = db
        self.rules = rules
        self.on_refused = on_refused
        self.clock = clock
        self._purged_period: str | None = None

    @property
    def enabled(self) -> bool:
        """False when no limit is configured: `reserve` then costs nothing."""
        return self.rules.enabled

    async def reserve(self, usage: Usage) -> Reservation:
        """Count the call against every limit that applies, or raise `LimitReached`."""
        reservation = Reservation(self)
        if not self.enabled:
            return reservation
        now = self.clock()
        period, resets_at = self.rules.period(now)
        rules = self.rules.rules_for(usage)
        takes = [
            counters.Take(CounterKey(rule.scope, rule.subject, rule.kind, period), rule.allowed)
            for rule in rules
        ]
        cap = self.rules.live_calls
        hold = None
        if cap is not None:
            expires = now + timedelta(seconds=HOLD_SECONDS)
            hold = counters.Hold(secrets.token_hex(8), cap, LIVE_STATES, expires)
        purge = self._purged_period != period  # once a day per process
        try:
            refused = await self.db.write(
                partial(
                    counters.reserve,
                    takes=takes,
                    resets_at=resets_at,
                    hold=hold,
                    now=now,
                    purge_before=now - KEEP_COUNTERS if purge else None,
                )
            )
            if refused is not None and refused < len(takes):
                raise self._daily_reached(rules[refused], resets_at, now)
            if refused is not None:
                raise LimitReached(
                    limit=LIVE_CALLS,
                    scope="gateway",
                    subject=GATEWAY_SUBJECT,
                    allowed=cap or 0,
                    resets_at=None,
                    retry_after=LIVE_RETRY_AFTER_SECONDS,
                )
            reservation.keys.extend(take.key for take in takes)
            reservation.hold_id = hold.hold_id if hold is not None else None
            if purge:
                self._purged_period = period
        except LimitReached as reached:  # rolled back to a savepoint: nothing was counted
            log.info("limits.refused", limit=reached.limit, scope=reached.scope, kind=usage.kind)
            if self.on_refused is not None:
                self.on_refused(reached)
            raise
        return reservation

    def _daily_reached(self, rule: Rule, resets_at: datetime, now: datetime) -> LimitReached:
        return LimitReached(
            limit=rule.name,
            scope=rule.scope,
            subject=rule.subject,
            allowed=rule.allowed,
            resets_at=resets_at,
            retry_after=max(1.0, math.ceil((resets_at - now).total_seconds())),
        )

    async def report(self) -> list[LimitUsage]:
        """Every limit in force today with its use: the gateway's, and each hook's and Slack
        user's that has started a call today or has limits of its own."""
        if not self.enabled:
            return []
        now = self.clock()
        period, resets_at = self.rules.period(now)

        async def work(session: AsyncSession) -> tuple[list[UsageCounterRow], int]:
            repo = UsageRepository(session)
            rows = [r for r in await repo.current(now=now) if r.period == period]
            live = await repo.live(LIVE_STATES, now=now) if self.rules.live_calls is not None else 0
            return rows, live

        rows, live = await self.db.reading(work)
        used = {(r.scope, r.subject, r.kind): r.used for r in rows}
        subjects = {("gateway", GATEWAY_SUBJECT)} | {(r.scope, r.subject) for r in rows}
        subjects |= {("hook", name) for name in self.rules.hooks}
        out: list[LimitUsage] = []
        for scope, subject in sorted(subjects):
            own = self.rules.own_limits(scope, subject)
            for kind in ("all", "phone"):
                allowed = self.rules.allowed(scope, kind, own)
                if allowed is None:
                    continue
                name = DAILY[(scope, kind)]
                count = used.get((scope, subject, kind), 0)
                out.append(LimitUsage(name, scope, subject, count, allowed, resets_at))
        if self.rules.live_calls is not None:
            out.append(
                LimitUsage(
                    LIVE_CALLS, "gateway", GATEWAY_SUBJECT, live, self.rules.live_calls, None
                )
            )
        return out
