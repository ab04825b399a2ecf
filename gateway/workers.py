"""Workers: background loops the app's lifespan starts and stops (`PeriodicWorker` for the
small jobs that run every few seconds)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Protocol

import structlog

log = structlog.get_logger(__name__)


class Worker(Protocol):
    """A background loop owned by the app's lifespan."""

    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class PeriodicWorker:
    """Runs `tick()` every `interval` seconds from the app's lifespan until stopped.

    A failing tick is logged and retried at the next interval; it never stops the loop.
    """

    name = "periodic-worker"

    def __init__(self, *, interval: float) -> None:
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    async def tick(self) -> None:
        """One round of the job; subclasses override it."""
        raise NotImplementedError

    async def start(self) -> None:
        """Start ticking in the background."""
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        """Stop ticking (a tick in progress is cancelled)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:
                log.exception("worker.tick_failed", worker=self.name)
            await asyncio.sleep(self.interval)
