"""What the CRM stand-ins share: a request log, injected faults, and holding an answer.

`fail(status, times=, method=, path=)` makes the next `times` (matching) requests answer
`status` with the CRM's own error body (429 with its rate-limit headers).
`hold_creates = True` makes the next create store the object and then keep its answer back
until `release()`: the window in which a test kills the gateway (`held` is set once an
object is stored and held).
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response


@dataclass
class Seen:
    method: str
    path: str
    query: str
    status: int
    at: float
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Fault:
    status: int
    times: int
    method: str | None = None
    path: str | None = None  # a path prefix

    def applies(self, request: Request) -> bool:
        return (self.method is None or request.method == self.method) and (
            self.path is None or request.url.path.startswith(self.path)
        )


class CrmStandIn:
    """Base of the HubSpot and Pipedrive stand-ins (subclasses build `self.app`)."""

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.faults: list[Fault] = []
        self.hold_creates = False
        self.held = threading.Event()
        self._lock = threading.Lock()

    def fail(
        self, status: int, *, times: int = 1, method: str | None = None, path: str | None = None
    ) -> None:
        """The next `times` requests (those with `method` and a path under `path`, if
        given) answer `status`."""
        with self._lock:
            self.faults.append(Fault(status, times, method, path))

    def release(self) -> None:
        """Let a held create answer (and later ones answer at once)."""
        self.hold_creates = False

    def record(self, request: Request, status: int) -> None:
        headers = {k.lower(): v for k, v in request.headers.items()}
        with self._lock:
            self.seen.append(
                Seen(
                    request.method,
                    request.url.path,
                    request.url.query,
                    status,
                    time.monotonic(),
                    headers,
                )
            )

    def take_fault(self, request: Request) -> int | None:
        with self._lock:
            self.faults = [f for f in self.faults if f.times > 0]
            for fault in self.faults:
                if fault.applies(request):
                    fault.times -= 1
                    return fault.status
        return None

    async def hold_if_asked(self) -> None:
        """Called after an object is stored, before its answer is sent."""
        if not self.hold_creates:
            return
        self.held.set()
        while self.hold_creates:
            await asyncio.sleep(0.02)

    def requests(self, method: str, path_prefix: str) -> list[Seen]:
        with self._lock:
            return [s for s in self.seen if s.method == method and s.path.startswith(path_prefix)]


def with_headers(response: Response, headers: dict[str, Any]) -> Response:
    for key, value in headers.items():
        response.headers[key] = str(value)
    return response
