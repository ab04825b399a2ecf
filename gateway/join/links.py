"""JoinLink: an opaque, expiring id that stands for a call's join credentials."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.join.crypto import TokenBox
from gateway.store.tables import JoinLinkRow, utcnow


@dataclass(frozen=True)
class JoinCredentials:
    server_url: str
    participant_token: str


@dataclass(frozen=True)
class IssuedLink:
    link_id: str
    url: str
    expires_at: datetime


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
        expires_at = utcnow() + self.ttl
        session.add(
            JoinLinkRow(
                id=link_id,
                call_id=call_id,
                agent_name=agent_name,
                server_url_enc=self.box.seal(credentials.server_url),
                participant_token_enc=self.box.seal(credentials.participant_token),
                expires_at=expires_at,
            )
        )
        await session.flush()
        return IssuedLink(link_id, self.url_for(link_id, call_id, credentials), expires_at)

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
        """The link if it exists, is not expired and still holds credentials."""
        row = await session.get(JoinLinkRow, link_id)
        if row is None or row.purged_at is not None or row.expires_at <= utcnow():
            return None
        return row

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
        await session.execute(
            sa.update(JoinLinkRow)
            .where(JoinLinkRow.call_id == call_id, JoinLinkRow.purged_at.is_(None))
            .values(server_url_enc=None, participant_token_enc=None, purged_at=utcnow())
        )

    async def purge_expired(self, session: AsyncSession) -> int:
        """Forget the credentials of every expired link; returns how many."""
        result = await session.execute(
            sa.update(JoinLinkRow)
            .where(JoinLinkRow.expires_at <= utcnow(), JoinLinkRow.purged_at.is_(None))
            .values(server_url_enc=None, participant_token_enc=None, purged_at=utcnow())
        )
        return int(result.rowcount)  # type: ignore[attr-defined]
