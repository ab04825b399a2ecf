"""Effectively once: find your own earlier write before creating after an uncertain try.

The outbox retries a delivery with the same id until it succeeds, so a CRM object may
already exist when a try starts: the process may have died (`kill -9`) after the CRM
created it and before the answer was recorded, or a timeout hid the answer. Every object a
write-back creates carries the call id (`marker(call_id)` in its text, or the call id in a
filterable field) so the destination can find it again with the CRM's own query API.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import structlog

from gateway.delivery.registry import DeliveryAttempt

log = structlog.get_logger(__name__)


def marker(call_id: str) -> str:
    """The text that tags an object as this call's write (`[oneinbox:call_…]`).

    The brackets keep `call_1` from matching inside `call_12`.
    """
    return f"[oneinbox:{call_id}]"


def may_exist(attempt: DeliveryAttempt) -> bool:
    """True when an earlier try of this delivery may already have written something."""
    return attempt.uncertain or attempt.attempt > 1


async def write_once(
    attempt: DeliveryAttempt,
    *,
    what: str,
    find: Callable[[], Awaitable[str | None]],
    create: Callable[[], Awaitable[str]],
) -> tuple[str, bool]:
    """`(object id, created)`: the earlier write when one may exist and `find` sees it,
    else a new object from `create`. `what` names the object in the log."""
    if may_exist(attempt):
        found = await find()
        if found is not None:
            log.info(
                "crm.earlier_write_found",
                delivery_id=attempt.delivery_id,
                call_id=attempt.call_id,
                object=what,
                object_id=found,
            )
            return found, False
    return await create(), True
