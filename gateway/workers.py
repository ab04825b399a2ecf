"""Workers: background loops the app's lifespan starts and stops (`PeriodicWorker` for the
small jobs that run every few seconds; `LeasedLoop` for the queues of leased rows that the
call tracker and the outbox work off)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, Generic, Protocol, TypeVar

import structlog

log = structlog.get_logger(__name__)

T = TypeVar("T")

# How long `LeasedLoop.stop()` lets a turn of the loop (a claim) finish before cancelling it.
TURN_GRACE_SECONDS = 5.0


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


class LeasedLoop(Generic[T]):
    """Claims leased work in batches and handles each item, at most `concurrency` at once.

    The owner says what to claim and how to handle one item: `claim(limit)` leases up to
    `limit` due items through a store repository (the lease SQL stays in `gateway.store`),
    `handle(item)` works one off, and `label(item)` names it in task names and logs. The loop
    claims only as many items as it has free slots; after a full batch it claims again as
    soon as a slot frees up (more may be due), otherwise it waits `idle_seconds` or until
    poked with `wake()`. A failing claim or item is logged; it never stops the loop.

    `stop()` stops claiming (a claim already made is still handled), gives items in flight
    `grace` seconds, cancels the rest and returns them: giving their leases back is the
    owner's business.
    """

    def __init__(
        self,
        name: str,
        *,
        claim: Callable[[int], Awaitable[Sequence[T]]],
        handle: Callable[[T], Coroutine[Any, Any, None]],
        label: Callable[[T], str],
        concurrency: int,
        idle_seconds: float,
        grace: float,
    ) -> None:
        self.name = name
        self.claim = claim
        self.handle = handle
        self.label = label
        self.concurrency = concurrency
        self.idle_seconds = idle_seconds
        self.grace = grace
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._inflight: dict[asyncio.Task[None], T] = {}

    @property
    def in_flight(self) -> int:
        """How many items are being handled now."""
        return len(self._inflight)

    def wake(self) -> None:
        """Claim now rather than after the idle wait (new work is due)."""
        self._wake.set()

    async def start(self) -> None:
        """Start claiming in the background."""
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> list[T]:
        """Stop claiming, let items in flight finish within `grace`; the unfinished ones."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            # Let the loop finish its turn: a claim it committed is handled, not orphaned.
            _, running = await asyncio.wait({self._task}, timeout=TURN_GRACE_SECONDS)
            for task in running:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            self._task = None
        if not self._inflight:
            return []
        _, pending = await asyncio.wait(set(self._inflight), timeout=self.grace)
        unfinished = [self._inflight[task] for task in pending]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        return unfinished

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()  # before claiming: a poke during the claim is not lost
            free = self.concurrency - len(self._inflight)
            claimed: Sequence[T] = []
            if free > 0:
                try:
                    claimed = await self.claim(free)
                except Exception:
                    log.exception("worker.claim_failed", worker=self.name)
            for item in claimed:
                self._launch(item)
            if claimed and len(claimed) >= free:
                # More may be due: go on as soon as a slot frees up.
                await self._wake.wait()
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self.idle_seconds)

    def _launch(self, item: T) -> None:
        label = self.label(item)
        task = asyncio.create_task(self.handle(item), name=f"{self.name}:{label}")
        self._inflight[task] = item

        def done(finished: asyncio.Task[None]) -> None:
            self._inflight.pop(finished, None)
            self._wake.set()  # a slot is free
            if not finished.cancelled() and finished.exception() is not None:
                log.error(
                    "worker.item_crashed",
                    worker=self.name,
                    item=label,
                    exc_info=finished.exception(),
                )

        task.add_done_callback(done)
