"""`/healthz` (the process is alive) and `/readyz` (it can do its work).

`/readyz` is 503 when the store cannot commit a write (full disk, read-only file or server)
or OneInbox does not answer. Both checks are cached for `READY_CACHE_SECONDS` and run by one
request at a time, so probes stay cheap however often they come.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gateway.context import AppContext

READY_CACHE_SECONDS = 5.0


@dataclass
class Readiness:
    """The last verdict of the store and OneInbox checks, refreshed at most every few seconds."""

    ctx: AppContext
    ttl: float = READY_CACHE_SECONDS
    _checked_at: float = float("-inf")
    _verdict: dict[str, Any] = field(default_factory=dict)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def verdict(self) -> dict[str, Any]:
        """`{"store": "ok" | "not_writable", "oneinbox": "ok" | "unreachable" | "refused_key"}`."""
        async with self._lock:
            if time.monotonic() - self._checked_at >= self.ttl:
                store, oneinbox = await asyncio.gather(
                    self.ctx.db.can_write(), self.ctx.client.reachable()
                )
                self._verdict = {"store": "ok" if store else "not_writable", "oneinbox": oneinbox}
                self._checked_at = time.monotonic()
            return dict(self._verdict)


def routes(ctx: AppContext) -> list[Route]:
    readiness = Readiness(ctx)

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "local_mode": ctx.settings.local_mode})

    async def readyz(request: Request) -> JSONResponse:
        checks = await readiness.verdict()
        ready = checks["store"] == "ok" and checks["oneinbox"] == "ok"
        body = {
            "status": "ready" if ready else "unavailable",
            **checks,
            "config": "loaded",
            "local_mode": ctx.settings.local_mode,
        }
        return JSONResponse(body, status_code=200 if ready else 503)

    return [Route("/healthz", healthz), Route("/readyz", readyz)]
