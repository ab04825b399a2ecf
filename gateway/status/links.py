"""Signed per-call status links: `{PUBLIC_BASE_URL}/status/{call_id}/{signature}`.

The signature is an HMAC of the call id under `GATEWAY_SECRET_KEY`, so the link works for
whoever was given it (the hook caller) and for nobody else, without an admin token; it
carries no secret of its own and never expires (it shows what the caller already asked for).
"""

from __future__ import annotations

import base64
import hashlib
import hmac

# Domain separation: the same secret key also signs join links and dashboard sessions.
PURPOSE = b"oneinbox-gateway/status-link/v1:"
SIGNATURE_BYTES = 16  # 128 bits: not guessable, short enough for a URL


class StatusLinks:
    """Builds and checks status links for one secret key and public base URL."""

    def __init__(self, secret_key: bytes, *, public_base: str) -> None:
        self._key = secret_key
        self.public_base = public_base.rstrip("/")

    def signature(self, call_id: str) -> str:
        """The URL-safe signature of `call_id`."""
        digest = hmac.new(self._key, PURPOSE + call_id.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:SIGNATURE_BYTES]).decode().rstrip("=")

    def url(self, call_id: str) -> str:
        """The link a caller can poll for `call_id`."""
        return f"{self.public_base}/status/{call_id}/{self.signature(call_id)}"

    def verify(self, call_id: str, signature: str) -> bool:
        """True when `signature` was made by `signature(call_id)` (constant-time compare)."""
        return hmac.compare_digest(self.signature(call_id).encode(), signature.encode())
