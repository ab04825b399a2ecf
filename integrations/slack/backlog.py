"""Background work of Slack commands: a bounded backlog in front of a bounded number of turns.

Every command is acknowledged at once and its work runs in a task kept by `ctx.spawn`. A burst
of commands must not flood the event loop and delay the acks of the commands that follow, so
the part that waits on OneInbox takes one of `max_concurrent` turns (`[slack]
max_concurrent_work`). The next `max_concurrent` commands in line get ready meanwhile (a call
resolves its agent and stores its intent), so that is done by the time a turn frees up; no
more than that, so a stored intent never waits long for its request. Commands behind them
are the backlog, parked; past `max_waiting` (`max_waiting_work`) a new command is turned away
at once rather than queued without bound.

A call's turn is for its upstream request alone: what follows (storing the call, posting the
card) runs after the turn is given back, so the backlog drains at the upstream's pace
(max_concurrent / upstream latency), not at the store's or Slack's.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from gateway.context import AppContext


class Backlog:
    """Runs work in tasks kept by `ctx.spawn`, each taking its turn with a `Ticket`."""

    def __init__(self, ctx: AppContext, *, max_concurrent: int, max_waiting: int) -> None:
        self.ctx = ctx
        self._next = asyncio.Semaphore(max_concurrent)  # next in line: may get ready
        self._turns = asyncio.Semaphore(max_concurrent)
        self._max_waiting = max_waiting
        self.waiting = 0

    @property
    def full(self) -> bool:
        """True when as much work waits as may: a new command is turned away."""
        return self.waiting >= self._max_waiting

    def spawn(self, coro: Coroutine[Any, Any, None], what: str) -> None:
        """Run all of `coro` in one turn (the task is named `slack.<what>`)."""
        self.spawn_with(partial(_in_turn, coro), what)

    def spawn_with(self, work: Callable[[Ticket], Awaitable[None]], what: str) -> None:
        """Run `work(ticket)`, which takes its turn with the ticket for what needs one."""
        ticket = Ticket(self)
        self.waiting += 1
        self.ctx.spawn(_with_ticket(ticket, work), name=f"slack.{what}")


class Ticket:
    """One admitted command: in the backlog until it is next in line (or `done`)."""

    def __init__(self, backlog: Backlog) -> None:
        self._backlog = backlog
        self._queued = True
        self._next = False

    async def next_in_line(self) -> None:
        """Wait in the backlog until this command is among the next `max_concurrent`."""
        if self._queued:
            await self._backlog._next.acquire()
            self._next = True
            self._leave_backlog()

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Hold one of the turns (next in line first)."""
        await self.next_in_line()
        async with self._backlog._turns:
            self.done()
            yield

    def done(self) -> None:
        """Leave the backlog and the line (once): the command took its turn, or never will."""
        self._leave_backlog()
        if self._next:
            self._next = False
            self._backlog._next.release()

    def _leave_backlog(self) -> None:
        if self._queued:
            self._queued = False
            self._backlog.waiting -= 1


async def _with_ticket(ticket: Ticket, work: Callable[[Ticket], Awaitable[None]]) -> None:
    try:
        await work(ticket)
    finally:
        ticket.done()


async def _in_turn(coro: Coroutine[Any, Any, None], ticket: Ticket) -> None:
    try:
        async with ticket.turn():
            await coro
    finally:
        coro.close()  # cancelled while waiting its turn: never started, nothing to warn
