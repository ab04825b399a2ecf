"""How a hook knows a request is from its sender: one verifier per `auth.scheme`.

Every comparison is constant-time, every timestamp must be within five minutes, and every
failure raises the same `AuthFailed` so a caller learns nothing about what was wrong.
Secrets come from environment variables named in the config (`*_env`), read once at start.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

from gateway.delivery.signing import secret_bytes, signing_secrets
from gateway.http.timestamps import parse_timestamp, within_tolerance

TOLERANCE_SECONDS = 300

Scheme = Literal["standard_webhooks", "hmac_sha256", "hubspot_v3", "bearer", "basic", "none"]


class AuthFailed(Exception):
    """The request is not from the hook's sender (the reason is only ever logged)."""


@dataclass(frozen=True)
class SignedRequest:
    """What a verifier may look at: method, the URL the sender called, headers, raw body."""

    method: str
    url: str
    headers: Mapping[str, str]  # lower-case names
    body: bytes


class Verifier(Protocol):
    """Raises `AuthFailed` unless the request is authentic."""

    # Headers that carry credentials: never exposed to field mapping.
    secret_headers: tuple[str, ...]
    # The secret itself is sent (a token, a password), so it can be guessed online.
    guessable: bool

    def verify(self, request: SignedRequest) -> None: ...

    def delivery_id(self, request: SignedRequest) -> str | None:
        """A signed id of this delivery, when the scheme has one: the replay key.

        Only what the signature covers may serve (an unsigned header could be changed by
        whoever replays a captured request); call after `verify` succeeded.
        """
        ...


def _equal(a: str | bytes, b: str | bytes) -> bool:
    left = a.encode() if isinstance(a, str) else a
    right = b.encode() if isinstance(b, str) else b
    return hmac.compare_digest(left, right)


def _fresh(stamp: str, *, unit: float = 1.0) -> None:
    """Fail closed unless `stamp` is plain ASCII digits within the 5-minute tolerance."""
    value = parse_timestamp(stamp)
    if value is None:
        raise AuthFailed("timestamp missing or not a plain integer")
    if not within_tolerance(value / unit, TOLERANCE_SECONDS):
        raise AuthFailed("timestamp outside the 5-minute tolerance")


class StandardWebhooks:
    """`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64>` with a `whsec_` key.

    The secret is read as the callbacks' signing secrets are: several, separated by spaces,
    during a rotation (a signature by any of them is accepted).
    """

    guessable = False
    secret_headers: tuple[str, ...] = ("webhook-signature",)

    def __init__(self, secret: str) -> None:
        self.keys = [secret_bytes(s) for s in signing_secrets(secret)]

    def verify(self, request: SignedRequest) -> None:
        msg_id = request.headers.get("webhook-id", "")
        stamp = request.headers.get("webhook-timestamp", "")
        signatures = request.headers.get("webhook-signature", "")
        if not msg_id or not signatures:
            raise AuthFailed("missing Standard Webhooks headers")
        _fresh(stamp)
        signed = f"{msg_id}.{stamp}.".encode() + request.body
        expected = [
            base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()) for key in self.keys
        ]
        for candidate in signatures.split():
            version, _, value = candidate.partition(",")
            if version == "v1" and any(_equal(value, each) for each in expected):
                return
        raise AuthFailed("no matching v1 signature")

    def delivery_id(self, request: SignedRequest) -> str | None:
        # Signed together with the timestamp and body; a sender's retries keep it.
        return request.headers.get("webhook-id") or None


class HmacSha256:
    """A hex or base64 HMAC-SHA256 of the raw body in one header, with an optional prefix."""

    guessable = False

    def __init__(self, secret: str, header: str, prefix: str, encoding: str) -> None:
        self.key = secret.encode()
        self.header = header.lower()
        self.prefix = prefix
        self.encoding = encoding
        self.secret_headers: tuple[str, ...] = (self.header,)

    def verify(self, request: SignedRequest) -> None:
        given = request.headers.get(self.header, "")
        if not given.startswith(self.prefix):
            raise AuthFailed("signature header missing or without its prefix")
        digest = hmac.new(self.key, request.body, hashlib.sha256).digest()
        expected = digest.hex() if self.encoding == "hex" else base64.b64encode(digest).decode()
        value = given[len(self.prefix) :].strip()
        if not _equal(value.lower() if self.encoding == "hex" else value, expected):
            raise AuthFailed("signature mismatch")

    def delivery_id(self, request: SignedRequest) -> str | None:
        return None


class HubSpotV3:
    """`X-HubSpot-Signature-v3`: base64 HMAC of method + URI + body + timestamp (ms).

    HubSpot signs the URL it called, so the caller passes the URL rebuilt from
    `PUBLIC_BASE_URL` (the gateway usually sits behind a proxy), never the Host header.
    """

    guessable = False
    secret_headers: tuple[str, ...] = ("x-hubspot-signature-v3", "x-hubspot-signature")

    def __init__(self, secret: str) -> None:
        self.key = secret.encode()

    def verify(self, request: SignedRequest) -> None:
        given = request.headers.get("x-hubspot-signature-v3", "")
        stamp = request.headers.get("x-hubspot-request-timestamp", "")
        if not given:
            raise AuthFailed("missing HubSpot v3 headers")
        _fresh(stamp, unit=1000)
        signed = request.method.upper().encode() + request.url.encode() + request.body
        signed += stamp.encode()
        expected = base64.b64encode(hmac.new(self.key, signed, hashlib.sha256).digest())
        if not _equal(given.strip(), expected):
            raise AuthFailed("signature mismatch")

    def delivery_id(self, request: SignedRequest) -> str | None:
        # HubSpot sends no delivery id: the signature (over body and timestamp) is one, so a
        # captured request replayed within the tolerance window is recognised as a repeat.
        given = request.headers.get("x-hubspot-signature-v3", "").strip()
        return f"hubspot-v3:{given}" if given else None


class Bearer:
    """`Authorization: Bearer <token>`."""

    guessable = True
    secret_headers: tuple[str, ...] = ("authorization",)

    def __init__(self, token: str) -> None:
        self.expected = f"Bearer {token}"

    def verify(self, request: SignedRequest) -> None:
        given = request.headers.get("authorization", "")
        # Compare the whole header so the scheme word costs no extra branch on the secret.
        if not _equal(given.strip(), self.expected):
            raise AuthFailed("bearer token mismatch")

    def delivery_id(self, request: SignedRequest) -> str | None:
        return None


class Basic:
    """HTTP basic authentication (what Pipedrive's webhooks send)."""

    guessable = True
    secret_headers: tuple[str, ...] = ("authorization",)

    def __init__(self, username: str, password: str) -> None:
        self.username = username
        self.password = password

    def verify(self, request: SignedRequest) -> None:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            raise AuthFailed("no basic credentials")
        try:
            user, sep, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, ValueError):
            raise AuthFailed("undecodable basic credentials") from None
        user_ok = _equal(user, self.username)
        password_ok = _equal(password, self.password)
        if not (sep and user_ok and password_ok):
            raise AuthFailed("basic credentials mismatch")

    def delivery_id(self, request: SignedRequest) -> str | None:
        return None


class NoAuth:
    """`scheme = "none"`: anyone may call (allowed only when written out; warned at start)."""

    guessable = False
    secret_headers: tuple[str, ...] = ()

    def verify(self, request: SignedRequest) -> None:
        return None

    def delivery_id(self, request: SignedRequest) -> str | None:
        return None
