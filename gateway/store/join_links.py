"""Join links: the sealed credentials of a call's join page, and their purging.

Which call states may still be joined is the calls domain's business: callers pass them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.store.tables import CallRow, JoinLinkRow, utcnow


class JoinLinkRepository:
    """Queries of the `join_links` table."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self,
        *,
        link_id: str,
        call_id: str,
        agent_name: str | None,
        server_url_enc: str,
        participant_token_enc: str,
        expires_at: datetime,
    ) -> None:
        """Insert a link (its credentials already sealed)."""
        self.session.add(
            JoinLinkRow(
                id=link_id,
                call_id=call_id,
                agent_name=agent_name,
                server_url_enc=server_url_enc,
                participant_token_enc=participant_token_enc,
                expires_at=expires_at,
            )
        )
        await self.session.flush()

    async def for_call(self, call_id: str) -> JoinLinkRow | None:
        """The call's link, whatever became of it."""
        found = await self.session.execute(
            sa.select(JoinLinkRow).where(JoinLinkRow.call_id == call_id)
        )
        return found.scalar_one_or_none()

    async def live(self, link_id: str, joinable: Sequence[str]) -> JoinLinkRow | None:
        """The link if it is not expired, still holds credentials and its call is in one of
        the `joinable` states."""
        found = await self.session.execute(
            sa.select(JoinLinkRow)
            .join(CallRow, CallRow.id == JoinLinkRow.call_id)
            .where(
                JoinLinkRow.id == link_id,
                JoinLinkRow.purged_at.is_(None),
                JoinLinkRow.expires_at > utcnow(),
                CallRow.state.in_(joinable),
            )
        )
        return found.scalar_one_or_none()

    async def of_joinable_call(self, link_id: str, joinable: Sequence[str]) -> JoinLinkRow | None:
        """The link while its call is in one of the `joinable` states, expired or not."""
        found = await self.session.execute(
            sa.select(JoinLinkRow)
            .join(CallRow, CallRow.id == JoinLinkRow.call_id)
            .where(JoinLinkRow.id == link_id, CallRow.state.in_(joinable))
        )
        return found.scalar_one_or_none()

    async def purge_for_call(self, call_id: str) -> None:
        """Forget a call's credentials."""
        await self.session.execute(
            sa.update(JoinLinkRow)
            .where(JoinLinkRow.call_id == call_id, JoinLinkRow.purged_at.is_(None))
            .values(server_url_enc=None, participant_token_enc=None, purged_at=utcnow())
        )

    async def purge_expired(self) -> int:
        """Forget the credentials of every expired link; returns how many."""
        result = await self.session.execute(
            sa.update(JoinLinkRow)
            .where(JoinLinkRow.expires_at <= utcnow(), JoinLinkRow.purged_at.is_(None))
            .values(server_url_enc=None, participant_token_enc=None, purged_at=utcnow())
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def purge_unless(self, joinable: Sequence[str]) -> int:
        """Forget the credentials of every link whose call is in none of the `joinable`
        states; returns how many."""
        finished = sa.select(CallRow.id).where(CallRow.state.not_in(joinable))
        result = await self.session.execute(
            sa.update(JoinLinkRow)
            .where(JoinLinkRow.purged_at.is_(None), JoinLinkRow.call_id.in_(finished))
            .values(server_url_enc=None, participant_token_enc=None, purged_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]
