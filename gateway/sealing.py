"""Secrets the gateway keeps in its store (an OAuth installation's tokens), encrypted at rest.

Fernet (AES-128-CBC + HMAC-SHA256) with a key derived (HKDF-SHA256, one per purpose) from
`GATEWAY_SECRET_KEY`. Rotation: put the old key in `GATEWAY_PREVIOUS_SECRET_KEYS` and set the
new one; `MultiFernet` opens what any of them sealed and seals with the new one only, and
whoever stores the values re-seals them (`needs_resealing`, `reseal`). Once nothing sealed
with the old key is left, drop it from the list.

A value stored before encryption existed (plain text) is still read, and reported by
`needs_resealing` so it gets encrypted.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

# Every Fernet token starts with its version byte 0x80, which base64 writes as "gAAAAA".
SEALED_PREFIX = "gAAAAA"


class UnreadableSecretError(Exception):
    """A stored value was sealed with a key that is neither `GATEWAY_SECRET_KEY` nor one of
    `GATEWAY_PREVIOUS_SECRET_KEYS`; the message says what to do."""


def _fernet(purpose: str, secret_key: bytes) -> Fernet:
    derived = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=None,
        info=f"oneinbox-gateway/{purpose}/v1".encode(),
    ).derive(secret_key)
    return Fernet(base64.urlsafe_b64encode(derived))


class Sealer:
    """Seals and opens one kind of stored secret (`purpose` keeps the kinds' keys apart)."""

    def __init__(self, purpose: str, secret_key: bytes, previous: Sequence[bytes] = ()) -> None:
        self.purpose = purpose
        self._current = _fernet(purpose, secret_key)
        self._any = MultiFernet([self._current, *(_fernet(purpose, k) for k in previous)])

    @staticmethod
    def is_sealed(value: str) -> bool:
        """True for a value this module sealed (plain secrets never start like a token)."""
        return value.startswith(SEALED_PREFIX)

    def seal(self, plaintext: str) -> str:
        """The value encrypted with the current key."""
        return self._current.encrypt(plaintext.encode()).decode()

    def open(self, stored: str) -> str:
        """The plain value: decrypted with the current or a previous key, or as stored when it
        was stored plain. Raises `UnreadableSecretError` when no configured key opens it."""
        if not self.is_sealed(stored):
            return stored
        try:
            return self._any.decrypt(stored.encode()).decode()
        except InvalidToken:
            raise UnreadableSecretError(
                f"a stored {self.purpose} was encrypted with another GATEWAY_SECRET_KEY: "
                "set the key it was stored with in GATEWAY_PREVIOUS_SECRET_KEYS "
                "(or install again to store a new one)"
            ) from None

    def needs_resealing(self, stored: str) -> bool:
        """Stored plain, or sealed with a previous key (raises when no key opens it)."""
        if not self.is_sealed(stored):
            return True
        try:
            self._current.decrypt(stored.encode())
        except InvalidToken:
            self.open(stored)  # opens with a previous key, or raises
            return True
        return False

    def reseal(self, stored: str) -> str:
        """The value sealed with the current key (from plain, or from a previous key)."""
        return self.seal(self.open(stored))
