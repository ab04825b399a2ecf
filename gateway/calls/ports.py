"""What call progress needs of live transcripts and recordings, so `calls` imports neither.

`gateway.live.transcript.LiveTranscript` and `gateway.recordings.links.RecordingLinks` are the
implementations; `services.py` passes them in.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.store.tables import CallRow


class TranscriptSettler(Protocol):
    """Replaces a finished call's live transcript with the turns of its result."""

    async def settle(self, session: AsyncSession, call: CallRow, messages: Sequence[Any]) -> None:
        """In the caller's transaction."""
        ...


class RecordingUrls(Protocol):
    """Signs the gateway's own link to a call's recording."""

    def url_for(self, call_id: str, *, now: float | None = None) -> str: ...
