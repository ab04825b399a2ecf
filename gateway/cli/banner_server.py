"""uvicorn's server, printing `serve`'s banner once it listens (after the start-up logs)."""

from __future__ import annotations

import socket
import sys
from collections.abc import Callable

import uvicorn


def print_block(text: str) -> None:
    """`text` in one write to stderr, after whatever the logs have written so far."""
    sys.stdout.flush()
    sys.stderr.flush()
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


class BannerServer(uvicorn.Server):
    """`uvicorn.Server` that prints `text()` as one block when start-up has succeeded."""

    def __init__(self, config: uvicorn.Config, text: Callable[[], str]) -> None:
        super().__init__(config)
        self._text = text

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """Start as uvicorn does, then print the banner (nothing when start-up failed)."""
        await super().startup(sockets)
        if self.started:
            print_block(self._text())
