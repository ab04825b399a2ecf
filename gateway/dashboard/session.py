"""The dashboard's session cookie: signed, expiring, carrying the per-session CSRF token.

The signing key mixes `GATEWAY_SECRET_KEY` with `ADMIN_TOKEN`, so rotating the admin token
signs every browser out.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

COOKIE = "gw_session"
LIFETIME_SECONDS = 12 * 3600


@dataclass(frozen=True)
class DashboardSession:
    """A signed-in browser (or any browser, in local mode without a token)."""

    csrf: str
    expires: int


class SessionSigner:
    """Issues and checks session cookie values (`payload.signature`, both base64url)."""

    def __init__(self, secret_key: bytes, admin_token: str | None) -> None:
        material = secret_key + b"|dashboard-session|" + (admin_token or "").encode()
        self._key = hashlib.sha256(material).digest()

    def issue(self, *, now: float | None = None) -> tuple[str, DashboardSession]:
        """A new session and the cookie value that carries it."""
        session = DashboardSession(
            csrf=secrets.token_urlsafe(24),
            expires=int((now or time.time()) + LIFETIME_SECONDS),
        )
        payload = _b64(json.dumps({"c": session.csrf, "e": session.expires}).encode())
        return f"{payload}.{self._sign(payload)}", session

    def read(self, value: str | None, *, now: float | None = None) -> DashboardSession | None:
        """The session in a cookie value, or None when absent, forged or expired."""
        if not value or value.count(".") != 1 or len(value) > 512:
            return None
        payload, signature = value.split(".")
        if not hmac.compare_digest(signature, self._sign(payload)):
            return None
        try:
            data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            session = DashboardSession(csrf=str(data["c"]), expires=int(data["e"]))
        except (ValueError, KeyError, TypeError):
            return None
        return session if session.expires > (now or time.time()) else None

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest())


def csrf_matches(session: DashboardSession, given: str | None) -> bool:
    """The form's hidden token is the session's (constant time)."""
    return bool(given) and hmac.compare_digest(session.csrf.encode(), (given or "").encode())


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")
