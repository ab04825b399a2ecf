"""`RecordingLinks`: signed, expiring links `{PUBLIC_BASE_URL}/recordings/{token}`.

OneInbox's `recording_url` is a signed URL that expires, so it is never handed out: results
carry this link instead. The token names the call and the link's end of life and is signed
with a key derived from `GATEWAY_SECRET_KEY` (HMAC-SHA256), so every replica can check it
without the store, and nothing in it (neither an upstream URL nor a key) is secret.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time

PATH = "/recordings/"
_SIG_BYTES = 20


class BadRecordingLink(Exception):
    """The token was not made by this gateway (or was changed)."""


class ExpiredRecordingLink(Exception):
    """The token is genuine but its lifetime is over."""

    def __init__(self, call_id: str, expired_at: int) -> None:
        super().__init__(f"recording link of {call_id} expired at {expired_at}")
        self.call_id = call_id
        self.expired_at = expired_at


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class RecordingLinks:
    """Makes and checks recording links; `ttl_seconds` is `RECORDING_LINK_TTL_SECONDS`."""

    def __init__(self, secret_key: bytes, *, public_base: str, ttl_seconds: int) -> None:
        self._key = hashlib.sha256(b"oneinbox-gateway/recording-links/v1\x00" + secret_key).digest()
        self.public_base = public_base.rstrip("/")
        self.ttl_seconds = ttl_seconds

    def url_for(self, call_id: str, *, now: float | None = None) -> str:
        """The link to the recording of `call_id`, valid for `ttl_seconds` from `now`."""
        expires = int((now if now is not None else time.time()) + self.ttl_seconds)
        return f"{self.public_base}{PATH}{self.token(call_id, expires)}"

    def token(self, call_id: str, expires: int) -> str:
        """`<call id, base64url>.<expiry, unix seconds>.<signature>`."""
        body = f"{_b64(call_id.encode())}.{expires}"
        return f"{body}.{self._sign(body)}"

    def read(self, token: str, *, now: float | None = None) -> str:
        """The call id of a genuine, unexpired token; raises `BadRecordingLink` or
        `ExpiredRecordingLink`."""
        parts = token.split(".")
        if len(parts) != 3 or len(token) > 600:
            raise BadRecordingLink("not a recording link")
        encoded, expires_text, signature = parts
        if not hmac.compare_digest(signature, self._sign(f"{encoded}.{expires_text}")):
            raise BadRecordingLink("bad signature")
        try:
            call_id = _unb64(encoded).decode()
            expires = int(expires_text)
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise BadRecordingLink("malformed") from None
        if (now if now is not None else time.time()) >= expires:
            raise ExpiredRecordingLink(call_id, expires)
        return call_id

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest()[:_SIG_BYTES])
