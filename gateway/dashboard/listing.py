"""The calls list (search, filters, pages) and the success rates, as template contexts.

The SQL is in `gateway.store.call_search` and `gateway.store.success_rates`; here the
request's parameters are read and the rows shaped for the templates.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.admin.models import CallSummary
from gateway.admin.queries import call_summary
from gateway.calls.states import CallState
from gateway.dashboard.filters import STATES, WINDOWS, page_mark, read_call_query, read_window
from gateway.store.agents import AgentRepository
from gateway.store.call_search import CallFilter, CallSearchRepository
from gateway.store.database import Database
from gateway.store.deliveries import DeliveryState
from gateway.store.success_rates import SuccessCount, SuccessRateRepository
from gateway.store.tables import utcnow

# A call succeeded once it was analyzed; it failed when it ended any other way.
CALL_SUCCEEDED = (str(CallState.ANALYZED),)
CALL_FAILED = (str(CallState.FAILED), str(CallState.EXPIRED), str(CallState.LOST))
DELIVERY_SUCCEEDED = (str(DeliveryState.DELIVERED),)
DELIVERY_FAILED = (str(DeliveryState.DEAD), str(DeliveryState.DISABLED))


class BadQuery(ValueError):
    """The request's parameters are wrong; the message says which and how."""


async def newest_calls(db: Database, limit: int) -> list[CallSummary]:
    """The first page of the calls list, unfiltered (the overview's recent calls)."""

    async def work(session: AsyncSession) -> list[CallSummary]:
        found = await CallSearchRepository(session).page(CallFilter(), limit=limit)
        return [call_summary(row) for row in found.rows]

    return await db.reading(work)


async def calls_context(
    db: Database, params: Mapping[str, str], configured_agents: list[str]
) -> tuple[dict[str, Any], bool]:
    """The calls page's context, and whether the parameters were all right."""
    query = read_call_query(params)

    async def work(session: AsyncSession) -> tuple[dict[str, Any], bool]:
        search = CallSearchRepository(session)
        choices = {
            "states": STATES,
            "outcomes": await search.outcomes(),
            "origins": [f"{kind}:{name}" for kind, name in await search.origins()],
            "agent_names": sorted(
                {row.name for row in await AgentRepository(session).list()} | set(configured_agents)
            ),
        }
        context: dict[str, Any] = {"query": query, **choices}
        if query.problems:
            return {**context, "calls": [], "total": 0, "newer": None, "older": None}, False
        found = await search.page(
            query.where, limit=query.limit, before=query.before, after=query.after
        )
        total = await search.count(query.where)
        rows = found.rows
        newer = older = None
        if rows and found.newer:
            newer = query.link(after=page_mark(rows[0].created_at, rows[0].id))
        if rows and found.older:
            older = query.link(before=page_mark(rows[-1].created_at, rows[-1].id))
        if not rows and query.before is not None:
            newer = query.link()  # past the end (the calls were purged): back to the newest
        return {
            **context,
            "calls": [call_summary(row) for row in rows],
            "total": total,
            "newer": newer,
            "older": older,
            "newest": query.link() if found.newer else None,
        }, True

    return await db.reading(work)


async def rates_context(db: Database, window: str) -> dict[str, Any]:
    """Success per origin and per destination over `window`; BadQuery for an unknown one."""
    try:
        name, span = read_window(window)
    except ValueError as exc:
        raise BadQuery(str(exc)) from None
    since = utcnow() - span

    async def work(session: AsyncSession) -> tuple[list[SuccessCount], list[SuccessCount]]:
        rates = SuccessRateRepository(session)
        origins = await rates.by_origin(since, succeeded=CALL_SUCCEEDED, failed=CALL_FAILED)
        destinations = await rates.by_destination(
            since, succeeded=DELIVERY_SUCCEEDED, failed=DELIVERY_FAILED
        )
        return origins, destinations

    origins, destinations = await db.reading(work)
    return {
        "window": name,
        "windows": list(WINDOWS),
        "since": since,
        "origins": origins,
        "destinations": destinations,
    }
