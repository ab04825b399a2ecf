"""AppContext: the process-wide objects every route, worker and integration shares."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog

from gateway.calls.service import CallService
from gateway.config import GatewayConfig
from gateway.delivery.registry import DestinationRegistry
from gateway.join.links import JoinLinks
from gateway.oneinbox.client import OneInboxClient
from gateway.settings import Settings
from gateway.store.database import Database

log = structlog.get_logger(__name__)


class Worker(Protocol):
    """A background loop owned by the app's lifespan."""

    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def worker_identity() -> str:
    """host:pid, unique enough to tell replicas' leases apart."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class AppContext:
    settings: Settings
    config: GatewayConfig
    db: Database
    client: OneInboxClient
    links: JoinLinks
    calls: CallService
    destinations: DestinationRegistry = field(default_factory=DestinationRegistry)
    workers: list[Worker] = field(default_factory=list)
    on_startup: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    on_shutdown: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    # Anything an integration wants to share with the core (e.g. the dashboard's links).
    extras: dict[str, Any] = field(default_factory=dict)
    identity: str = field(default_factory=worker_identity)
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    def spawn(self, coro: Coroutine[Any, Any, Any], *, name: str) -> asyncio.Task[Any]:
        """Run `coro` in the background, keeping a reference until it finishes.

        Errors are logged, never lost. Work that must survive a restart goes to the outbox.
        """
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("task.failed", task=task.get_name(), exc_info=task.exception())

    async def drain(self, timeout: float) -> None:
        """Wait up to `timeout` s for background tasks, then cancel what is left."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
