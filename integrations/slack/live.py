"""The call's thread as a live window: one message per turn, edited in place as it grows.

`SlackLivePoster.show_live` is called by the core's live feeder (at most once per
`LIVE_UPDATE_INTERVAL_SECONDS` per call) with the stored turns and what it showed before.
It makes at most one Web API call per sync, so a call never sends Slack more than one
`chat.postMessage` or `chat.update` a second in its channel (Slack limits both per method
and channel); a 429's `Retry-After` is handed back and the feeder waits that long. A turn is
shown at its latest text at the next sync, so the final text always lands, however many
partials were skipped on the way. Each message carries metadata (call id, turn) so a worker
that takes over after a crash finds the messages already posted instead of posting twice.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from gateway.live.feeds import LiveFeed, LiveSync, LiveTurn
from integrations.slack.blocks import escape
from integrations.slack.channel import slack_error, slack_retry_after
from integrations.slack.workspace import NoInstallationError, SlackWorkspaces

log = structlog.get_logger(__name__)

LIVE_EVENT = "oneinbox_live_turn"  # metadata event_type of a live turn message
CALLS_PER_SYNC = 1
MAX_TEXT = 3_500
GIVE_UP = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "missing_scope",
        "channel_not_found",
        "is_archived",
        "not_in_channel",
        "thread_not_found",
    }
)
SPEAKERS = {"agent": "Agent", "user": "Caller"}


def turn_text(turn: LiveTurn) -> str:
    """`*Agent:* Hello…` while the turn is being spoken, without the ellipsis once final."""
    speaker = SPEAKERS.get(turn.role or "", (turn.role or "Someone").capitalize())
    text = escape(turn.text)
    if len(text) > MAX_TEXT:
        text = text[: MAX_TEXT - 1] + "…"
    return f"*{speaker}:* {text}" + ("" if turn.final else " …")


def turn_metadata(call_id: str, turn: int) -> dict[str, Any]:
    """Marks a live turn message as ours (found again after a crash)."""
    return {"event_type": LIVE_EVENT, "event_payload": {"call_id": call_id, "turn": turn}}


class SlackLivePoster:
    """Posts and edits the turns of a call in its card's thread."""

    def __init__(self, workspaces: SlackWorkspaces) -> None:
        self.workspaces = workspaces

    async def show_live(self, feed: LiveFeed) -> LiveSync:
        """Bring the thread one step closer to the stored turns (one Web API call at most)."""
        shown: dict[str, Any] = {str(k): dict(v) for k, v in (feed.shown or {}).items()}
        channel = str(feed.config.get("channel") or "")
        thread_ts = feed.config.get("thread_ts")
        if not channel:
            return LiveSync(shown=shown, error="slack: no channel", permanent=True)
        if not thread_ts:
            # The card is not posted yet (or never will be, if Slack refused it).
            if feed.call_over:
                return LiveSync(shown=shown, error="slack: the call has no card", permanent=True)
            return LiveSync(shown=shown, complete=False)
        try:
            token = await self.workspaces.token_for(feed.config.get("team_id"))
        except NoInstallationError as exc:
            return LiveSync(shown=shown, error=f"slack: {exc}", permanent=True)
        client = self.workspaces.client(token, retry_rate_limits=False)
        try:
            if feed.uncertain:
                await self._recover(client, channel, str(thread_ts), feed.call_id, shown)
            return await self._step(client, channel, str(thread_ts), feed, shown)
        except SlackApiError as exc:
            return _failure(exc, shown)
        except (TimeoutError, aiohttp.ClientError) as exc:
            return LiveSync(shown=shown, error=f"slack unreachable: {type(exc).__name__}")

    async def _step(
        self,
        client: AsyncWebClient,
        channel: str,
        thread_ts: str,
        feed: LiveFeed,
        shown: dict[str, Any],
    ) -> LiveSync:
        calls = 0
        for turn in feed.turns:
            if not turn.text:
                continue
            mine = shown.get(str(turn.turn))
            if mine is not None and int(mine.get("v", 0)) >= turn.version:
                continue
            if calls >= CALLS_PER_SYNC:
                return LiveSync(shown=shown, complete=False)
            calls += 1
            text = turn_text(turn)
            if mine is None:
                answer = await client.chat_postMessage(
                    channel=channel,
                    thread_ts=thread_ts,
                    text=text,
                    metadata=turn_metadata(feed.call_id, turn.turn),
                    unfurl_links=False,
                    unfurl_media=False,
                )
                shown[str(turn.turn)] = {"ts": str(answer["ts"]), "v": turn.version}
                continue
            try:
                await client.chat_update(channel=channel, ts=str(mine["ts"]), text=text)
            except SlackApiError as exc:
                if slack_error(exc) != "message_not_found":
                    raise
                shown.pop(str(turn.turn))  # deleted by someone: posted again at the next sync
                return LiveSync(shown=shown, complete=False)
            mine["v"] = turn.version
        return LiveSync(shown=shown, complete=True)

    async def _recover(
        self,
        client: AsyncWebClient,
        channel: str,
        thread_ts: str,
        call_id: str,
        shown: dict[str, Any],
    ) -> None:
        """Find turn messages a worker posted before dying (before it could record them)."""
        answer = await client.conversations_replies(
            channel=channel, ts=thread_ts, include_all_metadata=True, limit=200
        )
        for message in answer["messages"] or []:
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if metadata.get("event_type") != LIVE_EVENT or payload.get("call_id") != call_id:
                continue
            key = str(payload.get("turn"))
            if key not in shown:
                shown[key] = {"ts": str(message["ts"]), "v": 0}  # edited to the latest text


def _failure(exc: SlackApiError, shown: dict[str, Any]) -> LiveSync:
    if exc.response.status_code == 429:
        return LiveSync(shown=shown, error="slack: ratelimited", retry_after=slack_retry_after(exc))
    error = slack_error(exc)
    return LiveSync(shown=shown, error=f"slack: {error}", permanent=error in GIVE_UP)
