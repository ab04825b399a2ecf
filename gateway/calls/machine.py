"""`CallMachine`: the call repository with the state machine's check on every move.

The store writes moves (`CallRepository.move`) without knowing the machine; every move the
gateway makes goes through `CallMachine.transition`, which refuses what `ALLOWED` does not
list and turns a lost race into the same `IllegalTransition`.
"""

from __future__ import annotations

from typing import Any

from gateway.calls.states import CallState, IllegalTransition, can_move
from gateway.store.calls import CallRepository, StaleState
from gateway.store.tables import CallRow


class CallMachine(CallRepository):
    """Read calls, and move them only as the state machine allows."""

    async def transition(
        self,
        row: CallRow,
        to_state: CallState,
        *,
        detail: str | None = None,
        **fields: Any,
    ) -> CallRow:
        """Move `row` to `to_state` if the machine allows it; set `fields` in the same write.

        Raises `IllegalTransition` when the move is not allowed, or when another worker moved
        the call first.
        """
        if not can_move(row.state, to_state):
            raise IllegalTransition(f"call {row.id}: {row.state} → {to_state} is not allowed")
        try:
            return await self.move(row, str(to_state), detail=detail, **fields)
        except StaleState as exc:
            raise IllegalTransition(str(exc)) from None
