"""Growing delays after repeated wrong credentials from one client address.

A bearer token or password is checked by comparing what the caller sends, so it can be
guessed online. After `free` wrong tries from one address, each further wrong try locks that
address out for twice as long as the last (1 s, 2 s, 4 s … up to `cap`): while locked, every
request from it gets 429 `too_many_failures` with `Retry-After`, before any credential is
looked at. A right credential clears the count; a quiet address is forgotten after `cap`.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from starlette.requests import Request

from gateway.http.errors import HTTPProblem
from gateway.http.retry_after import retry_after_header


@dataclass
class _Record:
    failures: int = 0
    locked_until: float = 0.0
    last: float = 0.0


class FailedAuthLockout:
    """Per-address counts of wrong credentials (bounded: the oldest addresses go first)."""

    def __init__(
        self,
        *,
        free: int = 5,
        base: float = 1.0,
        cap: float = 900.0,
        max_addresses: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.free = free
        self.base = base
        self.cap = cap
        self.max_addresses = max_addresses
        self.clock = clock
        self._records: OrderedDict[str, _Record] = OrderedDict()

    def check(self, address: str) -> None:
        """429 `too_many_failures` while `address` is locked out."""
        record = self._records.get(address)
        if record is None:
            return
        now = self.clock()
        if now - record.last > self.cap:
            del self._records[address]
            return
        wait = record.locked_until - now
        if wait > 0:
            raise HTTPProblem(
                429,
                "too_many_failures",
                "too many wrong credentials from this address; wait, then try again",
                headers={"Retry-After": retry_after_header(wait)},
            )

    def failed(self, address: str) -> None:
        """Count one wrong credential; past `free`, lock the address out for longer each time."""
        now = self.clock()
        record = self._records.pop(address, None) or _Record()
        if now - record.last > self.cap:
            record = _Record()
        record.failures += 1
        record.last = now
        extra = record.failures - self.free
        if extra > 0:
            record.locked_until = now + min(self.cap, self.base * 2 ** min(extra - 1, 30))
        self._records[address] = record
        while len(self._records) > self.max_addresses:
            self._records.popitem(last=False)

    def succeeded(self, address: str) -> None:
        """A right credential: the address starts afresh."""
        self._records.pop(address, None)


def client_address(request: Request) -> str:
    """The caller's address (uvicorn applies trusted proxy headers before this)."""
    return request.client.host if request.client is not None else "unknown"
