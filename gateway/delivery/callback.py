"""The `callback` destination: a signed POST of the result to a URL (Standard Webhooks).

Config (stored, never secret): `url`, and `secret_env`, the name of the environment variable
that holds the destination's `whsec_…` secret (without it the POST carries `webhook-id` and
`webhook-timestamp` but no signature). Each try re-checks the URL with the SSRF
guard after resolving its host, and connects to the address that was checked (so a DNS
answer cannot change between the check and the connection). Redirects are not followed.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from datetime import datetime
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

import httpx
import structlog
from pydantic import BaseModel

from gateway.calls.result import CallResult
from gateway.config import GatewayConfig
from gateway.delivery.registry import DeliveryAttempt, DeliveryOutcome
from gateway.delivery.signing import (
    SigningSecretError,
    key_fingerprint,
    signed_headers,
    signing_secrets,
)
from gateway.delivery.ssrf import UnsafeCallbackURL, check_callback_url
from gateway.http.retry_after import parse_retry_after
from gateway.settings import Settings
from gateway.store.database import Database

log = structlog.get_logger(__name__)

TIMEOUT_SECONDS = 15.0


class CallbackEvent(BaseModel):
    """The body of every callback (described as the `callResult` webhook in OpenAPI)."""

    type: Literal["call.completed", "call.failed"]
    timestamp: datetime | None
    data: CallResult


def callback_body(result: CallResult) -> bytes:
    """`{"type", "timestamp", "data": CallResult}`, the same bytes on every try.

    `timestamp` is when the call ended (not when the try happens), so a retried delivery
    carries exactly the body of its first try.
    """
    moment = result.ended_at or result.started_at
    body = {
        "type": result.event_type,
        "timestamp": moment.isoformat().replace("+00:00", "Z") if moment else None,
        "data": result.model_dump(mode="json"),
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def pinned_url(url: str, address: str) -> str:
    """`url` with its host replaced by the checked `address` (IPv6 in brackets)."""
    parts = urlsplit(url)
    host = f"[{address}]" if ":" in address else address
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))


class CallbackDestination:
    """Registered as `callback`; one HTTP client for every callback."""

    name = "callback"

    def __init__(self, *, allow_private: bool, timeout: float = TIMEOUT_SECONDS) -> None:
        self.allow_private = allow_private
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
            headers={"User-Agent": "oneinbox-gateway"},
        )

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def deliver(self, attempt: DeliveryAttempt, result: CallResult) -> DeliveryOutcome:
        """POST the signed result; a 2xx is success, 410 disables, the rest is retried."""
        url = str(attempt.config.get("url") or "")
        secret_env = str(attempt.config.get("secret_env") or "")
        return await self.post(url, secret_env, attempt.delivery_id, callback_body(result))

    async def post(self, url: str, secret_env: str, msg_id: str, body: bytes) -> DeliveryOutcome:
        """One signed POST of `body` to `url` through the SSRF guard (also the test event's).

        The outcome names, by fingerprint, the secrets that signed it.
        """
        if not url:
            return DeliveryOutcome(ok=False, error="callback: no url configured", permanent=True)
        secret = os.environ.get(secret_env) if secret_env else None
        if secret_env and not secret:
            return DeliveryOutcome(
                ok=False,
                error=f"callback: the secret variable {secret_env} is not set",
                permanent=True,
            )
        try:
            addresses = await check_callback_url(url, allow_private=self.allow_private)
        except UnsafeCallbackURL as exc:
            return DeliveryOutcome(ok=False, error=f"callback: {exc}", permanent=True)
        timestamp = int(time.time())
        headers = {"webhook-id": msg_id, "webhook-timestamp": str(timestamp)}
        signed_by: tuple[str, ...] = ()
        if secret:
            try:
                headers = signed_headers(secret, msg_id, timestamp, body)
                signed_by = tuple(key_fingerprint(s) for s in signing_secrets(secret))
            except SigningSecretError as exc:
                return DeliveryOutcome(ok=False, error=f"callback: {exc}", permanent=True)
        outcome = await self._send(url, addresses, headers, body)
        return dataclasses.replace(outcome, signed_by=signed_by)

    async def _send(
        self, url: str, addresses: list[str], headers: dict[str, str], body: bytes
    ) -> DeliveryOutcome:
        host = urlsplit(url).netloc.rsplit("@", 1)[-1]
        hostname = urlsplit(url).hostname or ""
        headers = {**headers, "Content-Type": "application/json", "Host": host}
        for address in addresses:
            try:
                response = await self._http.post(
                    pinned_url(url, address),
                    content=body,
                    headers=headers,
                    extensions={"sni_hostname": hostname},
                )
            except httpx.ConnectError:
                continue  # nothing was sent: the next checked address may answer
            except httpx.TimeoutException:
                return DeliveryOutcome(ok=False, error="callback: timed out")
            except httpx.HTTPError as exc:
                return DeliveryOutcome(ok=False, error=f"callback: {type(exc).__name__}")
            return outcome_of(response)
        return DeliveryOutcome(ok=False, error="callback: could not connect")


def outcome_of(response: httpx.Response) -> DeliveryOutcome:
    """How a receiver's answer counts: 2xx ok, 410 gone, else retried (Retry-After honoured)."""
    status = response.status_code
    if 200 <= status < 300:
        return DeliveryOutcome(ok=True, status_code=status)
    if status == 410:
        return DeliveryOutcome(ok=False, status_code=status, error="callback: 410 Gone", gone=True)
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    why = "redirect not followed" if 300 <= status < 400 else f"answered {status}"
    return DeliveryOutcome(
        ok=False, status_code=status, error=f"callback: {why}", retry_after=retry_after
    )


def destination(settings: Settings, config: GatewayConfig, db: Database) -> CallbackDestination:
    """The `callback` kind's factory (entry point); always on."""
    return CallbackDestination(allow_private=settings.callback_allow_private)
