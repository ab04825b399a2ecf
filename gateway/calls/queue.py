"""What the call tracker needs of the outbox, so `calls` does not depend on `delivery`.

`gateway.delivery.outbox.Outbox` is the one implementation; `services.py` passes it in.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.calls.result import CallResult
from gateway.store.tables import CallRow, DeliveryRow


class ResultQueue(Protocol):
    """Queues a finished call's result for each of its destinations."""

    async def enqueue_for(
        self, session: AsyncSession, call: CallRow, result: CallResult
    ) -> Sequence[DeliveryRow]:
        """One delivery per destination of `call`, in the caller's transaction."""
        ...

    def wake(self) -> None:
        """Look for due deliveries now."""
        ...
