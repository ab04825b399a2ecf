"""A callback receiver on loopback: verifies every POST with the `standardwebhooks` package.

Serve `receiver.app` with `serve_app`. It records every POST (verified or not), and can be
told to fail the first N tries of each webhook-id, to answer 410 to everything, or to take
its time (so a test can kill the gateway while deliveries are in flight).
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


def new_secret() -> str:
    """A fresh `whsec_…` secret."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


@dataclass
class Received:
    webhook_id: str
    timestamp: str
    body: bytes
    verified: bool
    answered: int
    signature: str = ""

    @property
    def payload(self) -> dict[str, Any]:
        return dict(json.loads(self.body))


@dataclass
class CallbackReceiver:
    secret: str = field(default_factory=new_secret)
    fail_first: int = 0  # answer 500 to the first N tries of every webhook-id
    gone: bool = False  # answer 410 to everything
    failing: bool = False  # answer 503 to everything (a receiver that is down), until cleared
    delay: float = 0.0  # seconds before answering
    redirect_to: str | None = None  # answer 307 to this URL
    received: list[Received] = field(default_factory=list)
    arrivals: int = 0  # POSTs that reached the receiver, answered or not yet
    _tries: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def app(self) -> Starlette:
        return Starlette(routes=[Route("/hook", self._receive, methods=["POST"])])

    async def _receive(self, request: Request) -> Response:
        body = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            Webhook(self.secret).verify(body, headers)
            verified = True
        except WebhookVerificationError:
            verified = False
        msg_id = headers.get("webhook-id", "")
        with self._lock:
            self.arrivals += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        with self._lock:
            self._tries[msg_id] += 1
            tries = self._tries[msg_id]
        status = 200
        if not verified:
            status = 400
        elif self.gone:
            status = 410
        elif self.failing:
            status = 503
        elif self.redirect_to is not None:
            status = 307
        elif tries <= self.fail_first:
            status = 500
        with self._lock:
            self.received.append(
                Received(
                    msg_id,
                    headers.get("webhook-timestamp", ""),
                    body,
                    verified,
                    status,
                    headers.get("webhook-signature", ""),
                )
            )
        headers_out = {"Location": self.redirect_to} if status == 307 and self.redirect_to else {}
        return JSONResponse({"ok": status == 200}, status_code=status, headers=headers_out)

    # What tests look at

    def accepted(self) -> list[Received]:
        """Every POST answered 200."""
        with self._lock:
            return [r for r in self.received if r.answered == 200]

    def accepted_call_ids(self) -> set[str]:
        # Test events (`webhook.test`) carry no call.
        return {
            r.payload["data"]["call_id"] for r in self.accepted() if "call_id" in r.payload["data"]
        }

    def tries_of(self, webhook_id: str) -> int:
        """POSTs (answered) that carried this webhook-id."""
        with self._lock:
            return sum(1 for r in self.received if r.webhook_id == webhook_id)

    def all(self) -> list[Received]:
        with self._lock:
            return list(self.received)

    def bodies_by_id(self) -> dict[str, set[bytes]]:
        out: dict[str, set[bytes]] = {}
        for r in self.all():
            out.setdefault(r.webhook_id, set()).add(r.body)
        return out

    def duplicates(self) -> int:
        """Accepted POSTs beyond the first for each webhook-id."""
        counts = Counter(r.webhook_id for r in self.accepted())
        return sum(n - 1 for n in counts.values())
