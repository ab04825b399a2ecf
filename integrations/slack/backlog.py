"""Background work of Slack commands, parked until its turn.

A burst of commands must not flood the event loop and delay the acks of the commands that
follow: at most `max_concurrent` pieces of work run at once and the rest wait, parked; past
`max_waiting` waiting a command is turned away at once rather than queued without bound.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from gateway.context import AppContext


class Backlog:
    """Runs work in tasks kept by `ctx.spawn`, a bounded number at a time."""

    def __init__(self, ctx: AppContext, *, max_concurrent: int, max_waiting: int) -> None:
        self.ctx = ctx
        self._slots = asyncio.Semaphore(max_concurrent)
        self._waiting = 0
        self._max_waiting = max_waiting

    @property
    def full(self) -> bool:
        """True when as much work waits as may: a new command is turned away."""
        return self._waiting >= self._max_waiting

    def spawn(self, coro: Coroutine[Any, Any, None], what: str) -> None:
        """Run `coro` once a slot is free (the task is named `slack.<what>`)."""
        self._waiting += 1
        self.ctx.spawn(self._in_turn(coro), name=f"slack.{what}")

    async def _in_turn(self, coro: Coroutine[Any, Any, None]) -> None:
        waiting = True
        try:
            async with self._slots:
                self._waiting, waiting = self._waiting - 1, False
                await coro
        finally:
            if waiting:
                self._waiting -= 1
            coro.close()  # cancelled while waiting its turn: never started, nothing to warn
