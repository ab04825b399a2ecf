"""The OneInbox client's transport: httpx's API over an aiohttp connection pool.

Measured on the hooks path (bench/README.md): plain httpx spends more of the event loop per
request than aiohttp does; the `httpx-aiohttp` transport keeps httpx's API (requests,
responses, exceptions, the in-process simulator's ASGI transport in local mode) with aiohttp's
pool underneath.

One correction to that package's error mapping: it reports every
`aiohttp.ClientConnectionError` as `httpx.ConnectTimeout`, including a server that closed the
connection *after* the request was sent. The client treats a connect timeout as "certainly
not sent" and may re-send a creating POST, which could start a call twice. Here only failures
to connect stay connect errors; the rest become `httpx.ReadError` (may have arrived).
"""

from __future__ import annotations

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport


class OneInboxTransport(AiohttpTransport):
    """`AiohttpTransport` whose connection limit fits the gateway's allowed concurrency."""

    def __init__(self, *, max_connections: int) -> None:
        super().__init__(
            limits=httpx.Limits(
                max_connections=max_connections,
                max_keepalive_connections=max_connections,
                keepalive_expiry=30.0,
            ),
            trust_env=False,
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await super().handle_async_request(request)
        except httpx.ConnectTimeout as exc:
            cause = exc.__cause__
            never_connected = (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError)
            if cause is None or isinstance(cause, never_connected):
                raise
            reason = str(cause) or type(cause).__name__
            raise httpx.ReadError(reason, request=request) from cause
