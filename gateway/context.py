"""AppContext: the process-wide objects every route, worker and integration shares, typed.

`gateway.services.build_services` builds it (one place); nothing adds to it afterwards.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

import structlog
from starlette.applications import Starlette

from gateway.calls.link_janitor import LinkJanitor
from gateway.calls.links import JoinLinks
from gateway.calls.service import CallService
from gateway.calls.tracker import CallTracker
from gateway.config import GatewayConfig
from gateway.delivery.outbox import Outbox
from gateway.delivery.registry import DestinationRegistry
from gateway.live.feeds import LiveFeeder
from gateway.live.transcript import LiveTranscript
from gateway.metrics import GatewayMetrics
from gateway.oneinbox.client import OneInboxClient
from gateway.recordings.links import RecordingLinks
from gateway.recordings.updates import RecordingUpdates
from gateway.settings import Settings
from gateway.status.links import StatusLinks
from gateway.store.database import Database

log = structlog.get_logger(__name__)


def worker_identity() -> str:
    """host:pid, unique enough to tell replicas' leases apart."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class AppContext:
    """Built once per app by `build_services`; the app's lifespan starts and stops it."""

    settings: Settings
    config: GatewayConfig
    db: Database
    metrics: GatewayMetrics
    client: OneInboxClient  # with retries: for requests a person waits on
    tracker_client: OneInboxClient  # without retries: every poll is paid from the budget
    links: JoinLinks
    calls: CallService
    destinations: DestinationRegistry
    outbox: Outbox
    tracker: CallTracker
    link_janitor: LinkJanitor
    live_feeder: LiveFeeder  # sends live call updates to destinations that take them
    transcript: LiveTranscript
    recording_links: RecordingLinks
    recording_updates: RecordingUpdates
    status_links: StatusLinks  # per-call status links a hook's caller can poll
    webhook_token: str  # the secret path segment of `POST /webhooks/oneinbox/{token}`
    simulator: Starlette | None = None  # the in-process OneInbox of local mode
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
