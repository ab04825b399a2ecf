"""Delivery of call events to registered webhook URLs, in the background."""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import structlog

log = structlog.get_logger(__name__)

EVENTS = frozenset(
    {
        "call.started",
        "call.ended",
        "call.analyzed",
        "call.failed",
        "call.recording.available",
        "transcript.partial",
        "transcript.final",
    }
)
RETRY_DELAYS = (0.2, 1.0, 2.0, 4.0, 8.0)


@dataclass
class WebhookRecord:
    """A registered webhook and its recent delivery attempts."""

    id: str
    name: str
    url: str
    events: list[str]
    secret: str = field(repr=False)
    created_at: str
    deliveries: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=50))

    def public(self, *, with_secret: bool = False) -> dict[str, Any]:
        """The JSON answer for this webhook (the secret only right after creation)."""
        data: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "url": self.url,
            "events": list(self.events),
            "created_at": self.created_at,
        }
        if with_secret:
            data["secret"] = self.secret
        return data


class WebhookDispatcher:
    """Posts event payloads to subscribed URLs; errors are logged and otherwise ignored."""

    def __init__(self, settings: Callable[[], tuple[float, int]]) -> None:
        # `settings` answers (timeout seconds, retries) from the live simulator config.
        self._settings = settings
        self._client: httpx.AsyncClient | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def dispatch(self, hooks: list[WebhookRecord], payload: dict[str, Any]) -> None:
        """Start delivering ``payload`` to every hook subscribed to its event."""
        event = str(payload.get("event"))
        for hook in hooks:
            if event in hook.events:
                task = asyncio.get_running_loop().create_task(self._deliver(hook, payload))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def aclose(self) -> None:
        """Cancel deliveries in flight and close the HTTP client."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=2)
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(follow_redirects=False)
        return self._client

    async def _deliver(self, hook: WebhookRecord, payload: dict[str, Any]) -> None:
        timeout, retries = self._settings()
        body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json", "X-OneInbox-Event": str(payload["event"])}
        for attempt in range(retries + 1):
            outcome = await self._attempt(hook.url, body, headers, timeout)
            hook.deliveries.append(
                {
                    "event": payload["event"],
                    "call_id": payload.get("call_id"),
                    "attempt": attempt + 1,
                    "outcome": outcome,
                    "at": time.time(),
                }
            )
            if outcome.startswith("2"):
                return
            # Never the query: a receiver's URL may carry its secret there (`?token=`).
            where = hook.url.split("?", 1)[0]
            log.info("simulator.webhook_failed", url=where, outcome=outcome, attempt=attempt + 1)
            if attempt < retries:
                await asyncio.sleep(RETRY_DELAYS[min(attempt, len(RETRY_DELAYS) - 1)])

    async def _attempt(self, url: str, body: bytes, headers: dict[str, str], seconds: float) -> str:
        try:
            response = await self._http().post(url, content=body, headers=headers, timeout=seconds)
        except httpx.HTTPError as exc:
            return type(exc).__name__
        return str(response.status_code)
