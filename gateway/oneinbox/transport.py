"""The OneInbox client's transport: httpx's API over an aiohttp connection pool.

Measured on the hooks path (bench/README.md): plain httpx spends more of the event loop per
request than aiohttp does; the `httpx-aiohttp` transport keeps httpx's API (requests,
responses, exceptions, the in-process simulator's ASGI transport in local mode) with aiohttp's
pool underneath.

`request()` is the hot path's way in: one request straight on aiohttp's pool, skipping
httpx's client machinery (URL merging, auth and redirect handling, cookies, a streamed body
read); measured on the hooks benchmark, httpx's layers above this transport took twice the
event loop time of aiohttp itself. It answers an `httpx.Response` and raises httpx's
exceptions, so the retry policy and the error messages above it are the same either way.

Two corrections to that package's error mapping, which reports every
`aiohttp.ClientConnectionError` as `httpx.ConnectTimeout`: a server that closed the
connection *after* the request was sent becomes `httpx.ReadError` (may have arrived: the
client treats a connect timeout as "certainly not sent" and could re-send a creating POST,
starting a call twice), and a refused connection becomes `httpx.ConnectError` (not a timeout).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport
from httpx_aiohttp.transport import map_aiohttp_exceptions


class Reply(Protocol):
    """What the sender reads of an answer: an `httpx.Response` or a `RawReply`."""

    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def text(self) -> str: ...

    def json(self) -> Any: ...


@dataclass(frozen=True, slots=True)
class RawReply:
    """An answer read whole off aiohttp: what the sender reads of an `httpx.Response` (status,
    headers, text, JSON) without building one (measured: 4% of the event loop per hook)."""

    status_code: int
    headers: Mapping[str, str]  # aiohttp's case-insensitive headers
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.content)


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
        with _sent_or_not(request):
            return await super().handle_async_request(request)

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        content: bytes | None,
        timeout: float,
    ) -> RawReply:
        """One request on the pool, its body read whole; httpx's exceptions on failure."""
        if not isinstance(self.client, aiohttp.ClientSession):
            self.client = self.get_client()
        limits = aiohttp.ClientTimeout(sock_connect=timeout, sock_read=timeout, connect=timeout)
        with _sent_or_not(None), map_aiohttp_exceptions():
            async with self.client.request(
                method,
                url,
                headers=headers,
                data=content,
                allow_redirects=False,
                auto_decompress=False,
                compress=False,
                timeout=limits,
            ) as answer:
                body = await answer.read()
        return RawReply(answer.status, answer.headers, body)


@contextlib.contextmanager
def _sent_or_not(request: httpx.Request | None) -> Iterator[None]:
    """Keep "connect error" for requests that never left (see the module's docstring)."""
    try:
        yield
    except httpx.ConnectTimeout as exc:
        cause = exc.__cause__
        if cause is None or isinstance(cause, aiohttp.ConnectionTimeoutError):
            raise
        reason = str(cause) or type(cause).__name__
        if isinstance(cause, aiohttp.ClientConnectorError):  # refused, unreachable: no timeout
            raise httpx.ConnectError(reason, request=request) from cause
        raise httpx.ReadError(reason, request=request) from cause
