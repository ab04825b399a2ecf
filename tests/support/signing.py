"""Signing requests the way each sender does (Standard Webhooks via its reference library)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid
from datetime import UTC, datetime

from standardwebhooks import Webhook


def standard_webhooks_headers(secret: str, body: bytes, *, age: float = 0) -> dict[str, str]:
    msg_id = "msg_" + uuid.uuid4().hex
    when = datetime.fromtimestamp(time.time() - age, tz=UTC)
    signature = Webhook(secret).sign(msg_id, when, body.decode())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": signature,
        "Content-Type": "application/json",
    }


def hubspot_v3_headers(
    secret: str, method: str, url: str, body: bytes, *, age: float = 0
) -> dict[str, str]:
    stamp = str(int((time.time() - age) * 1000))
    signed = method.encode() + url.encode() + body + stamp.encode()
    digest = base64.b64encode(hmac.new(secret.encode(), signed, hashlib.sha256).digest())
    return {
        "X-HubSpot-Signature-v3": digest.decode(),
        "X-HubSpot-Request-Timestamp": stamp,
        "Content-Type": "application/json",
    }


def hmac_hex(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}
