"""Sending one OneInbox request: the attempts, the waits between them (`retry.py`'s policy, a
server's `Retry-After`, the caller's deadline) and a report of every attempt."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

import httpx
import structlog

from gateway import jsontext
from gateway.http.retry_after import parse_retry_after
from gateway.oneinbox import failures
from gateway.oneinbox.retry import (
    RETRYABLE_STATUSES,
    RetryPolicy,
    certainly_not_sent,
    fits_deadline,
)
from gateway.oneinbox.transport import OneInboxTransport, Reply

log = structlog.get_logger(__name__)

RequestHook = Callable[[str, str, float], None]


class Sender:
    """Sends requests with one retry policy: straight on the aiohttp pool of a
    `OneInboxTransport` when the client has one, else through ``httpx.AsyncClient`` (local
    mode's in-process simulator, tests' transports)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        api_key: str,
        max_retries: int,
        policy: RetryPolicy,
        on_request: RequestHook | None,
        direct: OneInboxTransport | None = None,
        timeout: float = 15.0,
    ) -> None:
        self._http = http
        self._direct = direct
        # The client's headers are fixed when it is built: copied once, not per request.
        self._plain_headers = dict(http.headers)
        self._json_headers = {**self._plain_headers, "Content-Type": "application/json"}
        self._timeout = timeout
        self._base_url = base_url
        self._api_key = api_key
        self._max_retries = max(0, max_retries)
        self._policy = policy
        self._on_request = on_request

    async def read_json(
        self,
        method: str,
        path: str,
        endpoint: str,
        *,
        json: Any = None,
        params: Mapping[str, str | int] | None = None,
        creates: bool = False,
    ) -> Any:
        """Send (see `send`) and answer the decoded JSON body."""
        response = await self.send(
            method, path, endpoint, json=json, params=params, creates=creates
        )
        try:
            return response.json()
        except ValueError:
            raise failures.bad_answer(endpoint, "the answer is not JSON") from None

    async def send(
        self,
        method: str,
        path: str,
        endpoint: str,
        *,
        json: Any = None,
        params: Mapping[str, str | int] | None = None,
        creates: bool = False,
    ) -> Reply:
        """Send with retries; ``creates`` limits retries to requests that never arrived."""
        attempt = 0
        while True:
            started = time.monotonic()
            try:
                response = await self._request(method, path, json, params)
            except httpx.TransportError as exc:
                elapsed = time.monotonic() - started
                outcome = "timeout" if isinstance(exc, httpx.TimeoutException) else "error"
                self._report(endpoint, outcome, elapsed, attempt, error=type(exc).__name__)
                safe_to_retry = not creates or certainly_not_sent(exc)
                retry = safe_to_retry and attempt < self._max_retries
                if retry and await self._wait(endpoint, attempt, None):
                    attempt += 1
                    continue
                raise failures.unreachable(
                    self._base_url,
                    endpoint,
                    exc,
                    attempt + 1,
                    secret=self._api_key,
                    creates=creates,
                ) from None
            elapsed = time.monotonic() - started
            status = response.status_code
            self._report(endpoint, "ok" if status < 400 else str(status), elapsed, attempt)
            if status < 400:
                return response
            # A creating POST that got a 5xx may have created something: never re-send it.
            retryable = status == 429 or (status in RETRYABLE_STATUSES and not creates)
            if retryable and attempt < self._max_retries:
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                if await self._wait(endpoint, attempt, retry_after):
                    attempt += 1
                    continue
            raise failures.error_from(
                endpoint, response, attempt + 1, secret=self._api_key, creates=creates
            )

    async def _request(
        self, method: str, path: str, json: Any, params: Mapping[str, str | int] | None
    ) -> Reply:
        if self._direct is None:
            return await self._http.request(method, path, json=json, params=params)
        url = self._base_url + path
        if params:
            url += "?" + urlencode(params)
        headers = self._plain_headers
        content = None
        if json is not None:
            content = jsontext.dumps_bytes(json)  # compact UTF-8, as httpx encodes `json=`
            headers = self._json_headers
        return await self._direct.request(
            method, url, headers=headers, content=content, timeout=self._timeout
        )

    async def _wait(self, endpoint: str, attempt: int, retry_after: float | None) -> bool:
        """Sleep before the next attempt; False (no sleep) when it would pass the deadline."""
        delay = self._policy.delay(attempt, retry_after)
        if not fits_deadline(delay):
            log.info("oneinbox.retry_past_deadline", endpoint=endpoint, delay=round(delay, 3))
            return False
        log.info("oneinbox.retry", endpoint=endpoint, attempt=attempt + 1, delay=round(delay, 3))
        await asyncio.sleep(delay)
        return True

    def _report(
        self, endpoint: str, outcome: str, seconds: float, attempt: int, error: str | None = None
    ) -> None:
        log.debug(
            "oneinbox.request",
            endpoint=endpoint,
            outcome=outcome,
            seconds=round(seconds, 4),
            attempt=attempt + 1,
            **({"error": error} if error else {}),
        )
        if self._on_request is None:
            return
        try:
            self._on_request(endpoint, outcome, seconds)
        except Exception:  # a metrics hook must never break a request
            log.warning("oneinbox.on_request_failed", endpoint=endpoint, exc_info=True)
