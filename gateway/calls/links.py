"""JoinLink: an opaque, expiring id that stands for a call's join credentials."""

from __future__ import annotations

import base64
import binascii
import secrets
import string
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.calls.link_crypto import TokenBox
from gateway.calls.states import JOINABLE
from gateway.store.join_links import JoinLinkRepository
from gateway.store.tables import JoinLinkRow, utcnow

# A link works only while its call may still be joined.
JOINABLE_STATES = [str(s) for s in JOINABLE]
LINK_ID_ALPHABET = frozenset(string.ascii_letters + string.digits + "-_")


def token_expiry(token: str) -> datetime | None:
    """When a participant token says it expires (its JWT `exp`), if it says so at all.

    The token expires when the call ends, so a link never outlives it. The signature is
    not ours to check: OneInbox's key signs it; we only read the claim. So the payload is
    read as RFC 7519 lays it out (base64url JSON between the first two dots): PyJWT's
    `decode` without verification ran its whole validation machinery for one number, 80 µs
    a call against 10 µs (measured), on every call start.
    """
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        claims = orjson.loads(payload)  # an `exp` over 64 bits is a float: overflow, None
    except (ValueError, binascii.Error):
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    if isinstance(exp, int | float) and not isinstance(exp, bool):
        try:
            return datetime.fromtimestamp(exp, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    return None


def plausible_link_id(link_id: str) -> bool:
    """Cheap shape check, so junk never reaches the store (it gets the same 404)."""
    return 16 <= len(link_id) <= 64 and set(link_id) <= LINK_ID_ALPHABET


@dataclass(frozen=True)
class JoinCredentials:
    server_url: str
    participant_token: str = field(repr=False)


@dataclass(frozen=True)
class IssuedLink:
    link_id: str
    url: str
    expires_at: datetime


@dataclass(frozen=True)
class PreparedLink:
    """A link not stored yet: `row` holds the `join_links` values (credentials sealed)."""

    url: str
    expires_at: datetime
    row: dict[str, object]


class JoinLinks:
    """Issue links, reveal their credentials to the joining browser, purge them after."""

    def __init__(
        self, box: TokenBox, *, public_base: str, ttl_seconds: int, template: str | None = None
    ) -> None:
        self.box = box
        self.public_base = public_base.rstrip("/")
        self.ttl = timedelta(seconds=ttl_seconds)
        self.template = template

    async def issue(
        self,
        session: AsyncSession,
        *,
        call_id: str,
        agent_name: str | None,
        credentials: JoinCredentials,
    ) -> IssuedLink:
        """Store a new link for `call_id` (credentials sealed) and return its URL."""
        link_id = secrets.token_urlsafe(24)  # 192 random bits
        expires_at = self.expiry_for(credentials)
        await JoinLinkRepository(session).add(
            link_id=link_id,
            call_id=call_id,
            agent_name=agent_name,
            server_url_enc=self.box.seal(credentials.server_url),
            participant_token_enc=self.box.seal(credentials.participant_token),
            expires_at=expires_at,
        )
        return IssuedLink(link_id, self.url_for(link_id, call_id, credentials), expires_at)

    def prepare(
        self, *, call_id: str, agent_name: str | None, credentials: JoinCredentials
    ) -> PreparedLink:
        """A new link's row and URL, for the caller to insert with its call (one write)."""
        link_id = secrets.token_urlsafe(24)  # 192 random bits
        expires_at = self.expiry_for(credentials)
        row: dict[str, object] = {
            "id": link_id,
            "call_id": call_id,
            "agent_name": agent_name,
            "server_url_enc": self.box.seal(credentials.server_url),
            "participant_token_enc": self.box.seal(credentials.participant_token),
            "created_at": utcnow(),
            "expires_at": expires_at,
        }
        return PreparedLink(self.url_for(link_id, call_id, credentials), expires_at, row)

    def expiry_for(self, credentials: JoinCredentials) -> datetime:
        """`JOIN_LINK_TTL_SECONDS` from now, but never after the participant token expires."""
        expires_at = utcnow() + self.ttl
        token_exp = token_expiry(credentials.participant_token)
        if token_exp is not None and token_exp < expires_at:
            return token_exp
        return expires_at

    def url_for(self, link_id: str, call_id: str, credentials: JoinCredentials) -> str:
        """The gateway's own join page, or `JOIN_URL_TEMPLATE` (which carries the token)."""
        if self.template:
            return self.template.format(
                server_url=quote(credentials.server_url, safe=""),
                participant_token=quote(credentials.participant_token, safe=""),
                call_id=quote(call_id, safe=""),
            )
        return f"{self.public_base}/join/{link_id}"

    async def find_live(self, session: AsyncSession, link_id: str) -> JoinLinkRow | None:
        """The link if it exists, is not expired, still holds credentials and its call
        may still be joined (started or live); None in every other case, alike."""
        if not plausible_link_id(link_id):
            return None
        return await JoinLinkRepository(session).live(link_id, JOINABLE_STATES)

    async def find_for_leave(self, session: AsyncSession, link_id: str) -> JoinLinkRow | None:
        """The link while its call may still be running, even once the link has expired.

        A call can outlast its link (someone joined just before the link expired); the
        person in it must still be able to end it.
        """
        if not plausible_link_id(link_id):
            return None
        return await JoinLinkRepository(session).of_joinable_call(link_id, JOINABLE_STATES)

    def reveal(self, row: JoinLinkRow) -> JoinCredentials | None:
        """Decrypt a live link's credentials (None if purged or sealed with another key)."""
        if row.server_url_enc is None or row.participant_token_enc is None:
            return None
        server_url = self.box.open(row.server_url_enc)
        token = self.box.open(row.participant_token_enc)
        if server_url is None or token is None:
            return None
        return JoinCredentials(server_url, token)

    async def purge_for_call(self, session: AsyncSession, call_id: str) -> None:
        """Forget a call's credentials (the call ended)."""
        await JoinLinkRepository(session).purge_for_call(call_id)

    async def purge_expired(self, session: AsyncSession) -> int:
        """Forget the credentials of every expired link; returns how many."""
        return await JoinLinkRepository(session).purge_expired()

    async def purge_finished(self, session: AsyncSession) -> int:
        """Forget the credentials of every link whose call can no longer be joined."""
        return await JoinLinkRepository(session).purge_unless(JOINABLE_STATES)
