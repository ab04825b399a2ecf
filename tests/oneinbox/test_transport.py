"""The aiohttp transport under the client: which failures may have reached OneInbox."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from gateway.oneinbox.client import OneInboxClient
from gateway.oneinbox.errors import UpstreamUnavailableError
from gateway.oneinbox.transport import OneInboxTransport
from tests.support.servers import free_port

pytestmark = pytest.mark.asyncio


@contextlib.asynccontextmanager
async def hangs_up_after_reading() -> AsyncIterator[tuple[str, list[bytes]]]:
    """A server on loopback that reads a request, then closes without answering."""
    seen: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await reader.readuntil(b"\r\n\r\n"))
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", seen
    finally:
        server.close()
        await server.wait_closed()


def client(url: str) -> OneInboxClient:
    return OneInboxClient(
        url, "oi_sk_test", max_retries=3, transport=OneInboxTransport(max_connections=4)
    )


async def test_a_start_the_server_hung_up_on_is_not_resent_and_may_have_arrived() -> None:
    async with hangs_up_after_reading() as (url, seen), client(url) as oneinbox:
        with pytest.raises(UpstreamUnavailableError) as caught:
            await oneinbox.start_web_call("agt_1")
    assert caught.value.may_have_arrived is True
    assert len(seen) == 1  # never re-sent: the first may have started a call


async def test_a_start_that_never_connected_is_retried_and_certainly_not_arrived() -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    async with client(url) as oneinbox:
        with pytest.raises(UpstreamUnavailableError) as caught:
            await oneinbox.start_web_call("agt_1")
    assert caught.value.may_have_arrived is False
    assert "4 attempt(s)" in str(caught.value)
