"""Standard Webhooks signatures (https://www.standardwebhooks.com/).

`webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, keyed with the
bytes of a `whsec_<base64>` secret. Receivers verify it with any Standard Webhooks library.

Rotation: a destination's secret variable may hold several secrets separated by spaces,
newest first (`"whsec_new whsec_old"`). Every try is then signed with each of them, the
signatures space-separated in one header as the standard allows, so a receiver that still
knows only the old secret and one that already has the new one both accept it. Remove the
old secret once every receiver has the new one. Each secret is named in the delivery's
attempts by its fingerprint (`key_fingerprint`), never by its value.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)


class SigningSecretError(ValueError):
    """The secret is not a usable `whsec_…` value (the message never contains it)."""


def secret_bytes(secret: str) -> bytes:
    """The key bytes of a `whsec_<base64>` secret."""
    if not secret.startswith(SECRET_PREFIX):
        raise SigningSecretError("the signing secret must start with whsec_")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise SigningSecretError("the signing secret is not valid base64 after whsec_") from None
    if len(key) < 16:
        raise SigningSecretError("the signing secret is too short (at least 16 bytes)")
    return key


def signing_secrets(value: str) -> list[str]:
    """The secrets of one variable's value, newest first (several during a rotation)."""
    found = value.split()
    if not found:
        raise SigningSecretError("the signing secret is empty")
    for secret in found:
        secret_bytes(secret)  # each must be usable, or none is used
    return found


def key_fingerprint(secret: str) -> str:
    """A short public name for a secret (`whsec:` + 8 hex of its key's SHA-256)."""
    return "whsec:" + hashlib.sha256(secret_bytes(secret)).hexdigest()[:8]


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header value for one message, one signature per secret.

    `secret` is a variable's whole value: one `whsec_…` secret, or several separated by
    spaces during a rotation.
    """
    payload = f"{msg_id}.{timestamp}.".encode() + body
    signatures = [
        "v1,"
        + base64.b64encode(hmac.new(secret_bytes(s), payload, hashlib.sha256).digest()).decode()
        for s in signing_secrets(secret)
    ]
    return " ".join(signatures)


def signed_headers(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """`webhook-id`, `webhook-timestamp` and `webhook-signature` for one try."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, msg_id, timestamp, body),
    }
