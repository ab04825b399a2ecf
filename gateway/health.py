"""`/healthz` (the process is alive) and `/readyz` (it can do its work)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gateway.context import AppContext


def routes(ctx: AppContext) -> list[Route]:
    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "local_mode": ctx.settings.local_mode})

    async def readyz(request: Request) -> JSONResponse:
        store_ok = await ctx.db.ping()
        body = {
            "status": "ready" if store_ok else "unavailable",
            "store": "ok" if store_ok else "unreachable",
            "config": "loaded",
            "local_mode": ctx.settings.local_mode,
        }
        return JSONResponse(body, status_code=200 if store_ok else 503)

    return [Route("/healthz", healthz), Route("/readyz", readyz)]
