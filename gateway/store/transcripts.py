"""Transcript turns and live feeds: what a call has said so far and who has been shown it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.store.tables import CallRow, LiveFeedRow, TranscriptTurnRow, utcnow


class TranscriptRepository:
    """Read and write a call's turns; every change bumps the turn's `version`."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def turns(self, call_id: str) -> Sequence[TranscriptTurnRow]:
        """The call's turns in order."""
        result = await self.session.execute(
            sa.select(TranscriptTurnRow)
            .where(TranscriptTurnRow.call_id == call_id)
            .order_by(TranscriptTurnRow.turn)
        )
        return result.scalars().all()

    async def turn(self, call_id: str, turn: int) -> TranscriptTurnRow | None:
        """One turn of the call, if it has it."""
        return await self.session.get(TranscriptTurnRow, (call_id, turn))

    async def put(
        self, call_id: str, turn: int, *, role: str | None, text: str, final: bool
    ) -> bool:
        """Set one turn (created if new); False when nothing changed."""
        row = await self.session.get(TranscriptTurnRow, (call_id, turn))
        if row is None:
            self.session.add(
                TranscriptTurnRow(
                    call_id=call_id, turn=turn, role=role, text=text, final=final, version=1
                )
            )
            await self.session.flush()
            return True
        if row.text == text and row.final == final and (role is None or row.role == role):
            return False
        row.text = text
        row.final = final
        row.role = role or row.role
        row.version += 1
        await self.session.flush()
        return True


async def call_and_turns(
    session: AsyncSession, call_id: str
) -> tuple[CallRow | None, Sequence[TranscriptTurnRow]]:
    """A call (None if unknown) and its transcript's turns in order, in one read."""
    call = await session.get(CallRow, call_id)
    return call, await TranscriptRepository(session).turns(call_id)


@dataclass(frozen=True)
class ClaimedFeed:
    """A feed leased to one worker: sync it, then `finish` it with the same lease."""

    id: int
    call_id: str
    destination: str
    destination_key: str
    wanted: int
    shown: dict[str, Any]
    uncertain: bool  # an earlier worker's lease ran out mid-sync: it may have shown more


class LiveFeedRepository:
    """Live feeds: marked due by transcript changes, leased by one worker at a time."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def touch(self, call_id: str, targets: Iterable[tuple[str, str]]) -> None:
        """Make the feeds of `targets` ((destination, key) pairs) due; create missing ones."""
        for destination, key in targets:
            result = await self.session.execute(
                sa.update(LiveFeedRow)
                .where(LiveFeedRow.call_id == call_id, LiveFeedRow.destination_key == key)
                .values(wanted=LiveFeedRow.wanted + 1)
                .execution_options(synchronize_session=False)
            )
            if int(result.rowcount) == 0:  # type: ignore[attr-defined]
                self.session.add(
                    LiveFeedRow(
                        call_id=call_id,
                        destination=destination,
                        destination_key=key,
                        wanted=1,
                        synced=0,
                        shown={},
                        next_attempt_at=utcnow(),
                    )
                )
                await self.session.flush()

    async def claim_due(
        self, *, owner: str, limit: int, lease: timedelta, postgres: bool
    ) -> list[ClaimedFeed]:
        """Lease up to `limit` due feeds (changed, their time come, nobody holding them)."""
        now = utcnow()
        stmt = (
            sa.select(LiveFeedRow)
            .where(
                LiveFeedRow.wanted > LiveFeedRow.synced,
                LiveFeedRow.next_attempt_at <= now,
                sa.or_(LiveFeedRow.lease_expires_at.is_(None), LiveFeedRow.lease_expires_at < now),
            )
            .order_by(LiveFeedRow.next_attempt_at)
            .limit(limit)
        )
        if postgres:
            stmt = stmt.with_for_update(skip_locked=True)
        rows = list((await self.session.execute(stmt)).scalars().all())
        claimed = []
        for row in rows:
            claimed.append(
                ClaimedFeed(
                    id=row.id,
                    call_id=row.call_id,
                    destination=row.destination,
                    destination_key=row.destination_key,
                    wanted=row.wanted,
                    shown=dict(row.shown or {}),
                    uncertain=row.lease_owner is not None,
                )
            )
            row.lease_owner = owner
            row.lease_expires_at = now + lease
        await self.session.flush()
        return claimed

    async def finish(
        self,
        feed: ClaimedFeed,
        *,
        owner: str,
        shown: dict[str, Any],
        synced: int | None,
        next_attempt_at: datetime,
        error: str | None,
    ) -> bool:
        """Record a sync (only while `owner` still holds the lease); False if it was lost."""
        values: dict[str, Any] = {
            "shown": shown,
            "next_attempt_at": next_attempt_at,
            "lease_owner": None,
            "lease_expires_at": None,
            "last_error": error,
            "updated_at": utcnow(),
        }
        if synced is not None:
            values["synced"] = synced
        result = await self.session.execute(
            sa.update(LiveFeedRow)
            .where(LiveFeedRow.id == feed.id, LiveFeedRow.lease_owner == owner)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount) == 1  # type: ignore[attr-defined]

    async def for_call(self, call_id: str) -> Sequence[LiveFeedRow]:
        """Every feed of a call (for the operator and tests)."""
        result = await self.session.execute(
            sa.select(LiveFeedRow).where(LiveFeedRow.call_id == call_id).order_by(LiveFeedRow.id)
        )
        return result.scalars().all()
