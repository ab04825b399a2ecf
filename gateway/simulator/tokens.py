"""LiveKit-like participant tokens: HS256 JWTs naming the call's room."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import jwt

ISSUER = "oneinbox-simulator"


@dataclass
class TokenIssuer:
    """Issues and checks participant tokens with one secret per simulator."""

    secret: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)

    def issue(self, *, call_id: str, room: str, ttl_seconds: int) -> str:
        """A token for one participant of ``room``, valid ``ttl_seconds``."""
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": f"web-{secrets.token_hex(4)}",
            "name": "Web participant",
            "nbf": now - 5,
            "iat": now,
            "exp": now + ttl_seconds,
            "call_id": call_id,
            "video": {
                "room": room,
                "roomJoin": True,
                "canPublish": True,
                "canSubscribe": True,
                "canPublishData": True,
            },
        }
        return jwt.encode(claims, self.secret, algorithm="HS256")

    def verify(self, token: str) -> dict[str, Any] | None:
        """The claims of a valid, unexpired token; None otherwise."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self.secret,
                algorithms=["HS256"],
                issuer=ISSUER,
                options={"require": ["exp", "call_id"]},
            )
        except jwt.PyJWTError:
            return None
        return claims
