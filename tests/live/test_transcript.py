"""Turns in the store: partials grow a turn, a new speaker starts the next, late or repeated
events change nothing, the call's final messages settle everything; live feeds become due."""

from __future__ import annotations

from typing import Any

from gateway.calls.result import ResultMessage
from gateway.live.events import parse_transcript_event
from gateway.live.transcript import LiveTranscript
from gateway.store.calls import CallRepository
from gateway.store.database import Database
from gateway.store.tables import CallRow
from gateway.store.transcripts import LiveFeedRepository, TranscriptRepository


async def new_call(db: Database, *, live: bool) -> str:
    config: dict[str, Any] = {"channel": "C1", "thread_ts": "1.1"}
    if live:
        config["live"] = True
    async with db.session() as session:
        await CallRepository(session).add(
            CallRow(
                id="call_1",
                agent_id="agt_1",
                origin_kind="slack",
                origin_name="T/U",
                state="live",
                destinations=[{"kind": "slack", "key": "slack:C1", "config": config}],
            )
        )
    return "call_1"


def event(kind: str, role: str, text: str, **extra: Any) -> Any:
    return parse_transcript_event(
        {"event": f"transcript.{kind}", "call_id": "call_1", "role": role, "content": text, **extra}
    )


async def turns(db: Database) -> list[tuple[int, str | None, str, bool]]:
    async with db.session() as session:
        rows = await TranscriptRepository(session).turns("call_1")
    return [(r.turn, r.role, r.text, r.final) for r in rows]


async def test_a_conversation_becomes_turns_and_feeds_become_due(database_url: str) -> None:
    db = Database(database_url)
    await db.migrate()
    try:
        await new_call(db, live=True)
        live = LiveTranscript(db)
        assert await live.record(event("partial", "agent", "Hi Ada"))
        assert await live.record(event("partial", "agent", "Hi Ada, shall we"))
        # The caller starts before the agent's final arrives (events overtake each other).
        assert await live.record(event("partial", "user", "Yes"))
        assert await live.record(event("final", "agent", "Hi Ada, shall we book a demo?"))
        assert not await live.record(event("partial", "agent", "Hi Ada, shall"))  # late
        assert not await live.record(event("final", "agent", "Hi Ada, shall we book a demo?"))
        assert await live.record(event("final", "user", "Yes, Thursday."))
        assert not await live.record(parse_transcript_event({"call_id": "call_1"}))  # no text
        assert await turns(db) == [
            (0, "agent", "Hi Ada, shall we book a demo?", True),
            (1, "user", "Yes, Thursday.", True),
        ]
        async with db.session() as session:
            [feed] = await LiveFeedRepository(session).for_call("call_1")
        assert (feed.destination, feed.destination_key, feed.synced) == ("slack", "slack:C1", 0)
        assert feed.wanted == 5  # one per change

        # The record's messages are the final word.
        async with db.session() as session:
            call = await CallRepository(session).get("call_1", for_update=True)
            assert call is not None
            await live.settle(
                session,
                call,
                [
                    ResultMessage(role="assistant", content="Hi Ada, shall we book a demo?"),
                    ResultMessage(role="user", content="Yes, Thursday afternoon."),
                    ResultMessage(role="assistant", content="Booked."),
                ],
            )
        assert await turns(db) == [
            (0, "agent", "Hi Ada, shall we book a demo?", True),
            (1, "user", "Yes, Thursday afternoon.", True),
            (2, "agent", "Booked.", True),
        ]
    finally:
        await db.dispose()


async def test_numbered_turns_and_calls_without_live_destinations(database_url: str) -> None:
    db = Database(database_url)
    await db.migrate()
    try:
        await new_call(db, live=False)
        live = LiveTranscript(db)
        assert await live.record(event("final", "agent", "Second", turn=1))
        assert await live.record(event("partial", "agent", "Fir", turn=0))
        assert not await live.record(event("partial", "agent", "Sec", turn=1))  # final stays
        assert await turns(db) == [(0, "agent", "Fir", False), (1, "agent", "Second", True)]
        async with db.session() as session:
            assert list(await LiveFeedRepository(session).for_call("call_1")) == []
        unknown = parse_transcript_event(
            {"event": "transcript.final", "call_id": "call_x", "content": "hi"}
        )
        assert not await live.record(unknown)
    finally:
        await db.dispose()
