"""The Slack work queue: a bounded backlog in front of a bounded number of upstream starts.

Every command is acknowledged at once and its work runs in a background task. The part that
waits on OneInbox takes one of `in_flight` turns (`[slack] max_concurrent_work`). The next
`in_flight` commands in line prepare meanwhile (a call resolves its agent and stores its
intent), so that is done by the time a turn frees up; no more than that, so a stored intent
never waits long for its request. Admitted commands behind them are the backlog
(`max_waiting_work`), and only when it is full is a new command turned away.

A turn is for the upstream request alone: what follows it (storing the call, posting the
card) runs after the turn is given back, so the backlog drains at the upstream's pace
(in_flight / upstream latency), not at the store's or Slack's.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class WorkQueue:
    """`in_flight` turns, as many places next in line, and a backlog of `backlog` behind."""

    def __init__(self, in_flight: int, backlog: int) -> None:
        self._next = asyncio.Semaphore(in_flight)  # next in line: may prepare
        self._turns = asyncio.Semaphore(in_flight)
        self._backlog = backlog
        self.waiting = 0

    @property
    def full(self) -> bool:
        """True when the backlog is full: a new command must be turned away."""
        return self.waiting >= self._backlog

    def admit(self) -> Ticket:
        """A new command joins the backlog (check `full` first)."""
        self.waiting += 1
        return Ticket(self)


class Ticket:
    """One admitted command: in the backlog until it is next in line (or `done`)."""

    def __init__(self, queue: WorkQueue) -> None:
        self._queue = queue
        self._queued = True
        self._next = False

    async def next_in_line(self) -> None:
        """Wait in the backlog until this command is among the next `in_flight` in line."""
        if self._queued:
            await self._queue._next.acquire()
            self._next = True
            self._leave_backlog()

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Hold one of the queue's turns (next in line first)."""
        await self.next_in_line()
        async with self._queue._turns:
            self.done()
            yield

    def done(self) -> None:
        """Leave the backlog and the line (once): the command took its turn, or never will."""
        self._leave_backlog()
        if self._next:
            self._next = False
            self._queue._next.release()

    def _leave_backlog(self) -> None:
        if self._queued:
            self._queued = False
            self._queue.waiting -= 1
