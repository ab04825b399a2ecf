"""LiveTranscript: turns a transcript event (or a finished call's messages) into stored turns.

Events may land on any replica and in any order, so the call's row is locked while its turns
are changed (replicas take turns per call) and the store, not memory, decides which turn an
event belongs to. When the event names its turn, that turn is set; otherwise a partial
continues the open turn of the same speaker, and a new speaker (or a turn already final)
starts the next one. Partials are taken to carry the turn's text so far, as speech-to-text
pipelines send them; a late partial never overwrites a final turn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.live.events import TranscriptEvent, normalise_role
from gateway.store.calls import CallRepository
from gateway.store.database import Database
from gateway.store.tables import CallRow, TranscriptTurnRow
from gateway.store.transcripts import LiveFeedRepository, TranscriptRepository

log = structlog.get_logger(__name__)

MAX_TURNS = 2_000  # a call that says more than this is no longer shown live


def live_targets(row: CallRow) -> list[tuple[str, str]]:
    """(destination, key) of the call's destinations that asked for a live transcript."""
    targets = []
    for item in row.destinations or []:
        if not isinstance(item, dict):
            continue
        config = item.get("config") or {}
        if config.get("live") is True and item.get("kind") and item.get("key"):
            targets.append((str(item["kind"]), str(item["key"])))
    return targets


class LiveTranscript:
    """Records what a call says into `transcript_turns` and marks its live feeds due."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(self, event: TranscriptEvent) -> Recorded:
        """Store an event's text; falsy when it changed nothing (no text, unknown call…)."""
        if not event.has_text or not event.call_id:
            return Recorded(changed=False)
        return await self.db.writing(lambda session: _record(session, event))

    async def settle(self, session: AsyncSession, call: CallRow, messages: Sequence[Any]) -> None:
        """At the end of a call its record's messages are the final word: make turns match.

        Called inside the transaction that stores the result, so a live destination's last
        sync always shows the complete final text (even if no transcript event had any).
        """
        repo = TranscriptRepository(session)
        changed = False
        for index, message in enumerate(messages[:MAX_TURNS]):
            role = normalise_role(getattr(message, "role", None))
            text = str(getattr(message, "content", "") or "")
            if await repo.put(call.id, index, role=role, text=text, final=True):
                changed = True
        if changed:
            await LiveFeedRepository(session).touch(call.id, live_targets(call))


@dataclass(frozen=True)
class Recorded:
    """What an event changed: the turn (truthy then), and whether the call has live feeds,
    which are due now (the feeder has work: wake it)."""

    changed: bool
    feeds_due: bool = False

    def __bool__(self) -> bool:
        return self.changed


async def _record(session: AsyncSession, event: TranscriptEvent) -> Recorded:
    call = await CallRepository(session).get(event.call_id, for_update=True)
    if call is None:
        return Recorded(changed=False)
    repo = TranscriptRepository(session)
    if event.turn is not None:  # a numbered turn needs that turn alone, not the whole call's
        one = await repo.turn(event.call_id, event.turn)
        turns = [one] if one is not None else []
    else:
        turns = list(await repo.turns(event.call_id))
    turn = _turn_for(event, turns)
    if turn is None or turn >= MAX_TURNS:
        return Recorded(changed=False)
    changed = await repo.put(
        event.call_id, turn, role=event.role, text=event.text or "", final=event.final
    )
    targets = live_targets(call)
    if changed and targets:
        await LiveFeedRepository(session).touch(event.call_id, targets)
    return Recorded(changed=changed, feeds_due=changed and bool(targets))


def _turn_for(event: TranscriptEvent, turns: list[TranscriptTurnRow]) -> int | None:
    if event.turn is not None:
        existing = next((t for t in turns if t.turn == event.turn), None)
        if existing is not None and existing.final and not event.final:
            return None  # a late partial of a turn already final
        return event.turn
    if not turns:
        return 0
    mine = [t for t in turns if event.role is None or t.role is None or t.role == event.role]
    open_turn = next((t for t in reversed(mine) if not t.final), None)
    if open_turn is not None:
        return open_turn.turn  # the speaker's turn in progress (events may overtake others)
    text = event.text or ""
    latest = mine[-1] if mine else None
    late = latest is not None and latest.text.startswith(text)
    if late and (not event.final or text == (latest.text if latest else "")):
        return None  # a late partial, or a repeated final, of the turn that just ended
    return turns[-1].turn + 1
