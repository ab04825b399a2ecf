"""Encryption at rest for the call credentials a join link carries."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken


class TokenBox:
    """Fernet (AES-128-CBC + HMAC) keyed from `GATEWAY_SECRET_KEY`."""

    def __init__(self, secret_key: bytes) -> None:
        digest = hashlib.sha256(b"oneinbox-gateway/join-links/v1\x00" + secret_key).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))

    def seal(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def open(self, sealed: str) -> str | None:
        """The plaintext, or None when the value was not sealed with this key."""
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            return None
