"""The `slack` destination: update the call card and post the result, effectively once.

Config (no secrets): `channel`, optional `thread_ts` (the card's ts) and `team_id`. Before a
re-post after an uncertain attempt the destination looks for its own earlier message (message
`metadata` carrying the call id) so a crash between posting and recording never posts twice.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from gateway.calls.result import CallResult
from gateway.config import GatewayConfig
from gateway.delivery.registry import DeliveryAttempt, DeliveryOutcome
from gateway.live.feeds import LiveFeed, LiveSync
from gateway.settings import Settings
from gateway.store.database import Database
from integrations.slack import blocks
from integrations.slack.channel import (
    NOT_A_MEMBER,
    ChannelUnavailable,
    join,
    post_message,
    slack_error,
    slack_retry_after,
)
from integrations.slack.installations import token_sealer
from integrations.slack.live import SlackLivePoster
from integrations.slack.options import slack_options
from integrations.slack.settings import SlackSettings
from integrations.slack.workspace import NoInstallationError, SlackWorkspaces

log = structlog.get_logger(__name__)

# Errors no retry can fix; the operator (or a user invite) must act.
PERMANENT = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "missing_scope",
        "channel_not_found",
        "is_archived",
        "invalid_blocks",
        "msg_too_long",
    }
)
CARD_EVENT = "oneinbox_call_card"  # metadata event_type of a call card
HISTORY_LIMIT = 200


class SlackDestination:
    """The `slack` destination kind; its Web API session opens on first use."""

    name = "slack"
    # A result sent again (e.g. its recording became available) edits the posted message.
    updates_in_place = True

    def __init__(self, workspaces: SlackWorkspaces, *, auto_join: bool) -> None:
        self.workspaces = workspaces
        self.auto_join = auto_join
        self.live = SlackLivePoster(workspaces)

    async def show_live(self, feed: LiveFeed) -> LiveSync:
        """The call's live transcript in its card's thread (see `integrations.slack.live`)."""
        await self.workspaces.open()
        return await self.live.show_live(feed)

    async def aclose(self) -> None:
        """Close the Web API session (at shutdown)."""
        await self.workspaces.close()

    async def deliver(self, attempt: DeliveryAttempt, result: CallResult) -> DeliveryOutcome:
        """Update the card (idempotent), then post the result unless it is already there."""
        channel = str(attempt.config.get("channel") or "")
        if not channel:
            return DeliveryOutcome(ok=False, error="slack: no channel configured", permanent=True)
        try:
            token = await self.workspaces.token_for(attempt.config.get("team_id"))
        except NoInstallationError as exc:
            return DeliveryOutcome(ok=False, error=f"slack: {exc}", permanent=True)
        await self.workspaces.open()
        client = self.workspaces.client(token, retry_rate_limits=False)
        try:
            await self._deliver(client, channel, attempt, result)
        except ChannelUnavailable as exc:
            return DeliveryOutcome(ok=False, error=f"slack: {exc}", permanent=True)
        except SlackApiError as exc:
            return _failure(exc)
        except (TimeoutError, aiohttp.ClientError) as exc:
            return DeliveryOutcome(ok=False, error=f"slack unreachable: {type(exc).__name__}")
        return DeliveryOutcome(ok=True, status_code=200)

    async def _deliver(
        self, client: AsyncWebClient, channel: str, attempt: DeliveryAttempt, result: CallResult
    ) -> None:
        thread_ts: str | None = attempt.config.get("thread_ts")
        if thread_ts is None and result.origin.kind == "slack":
            # The process may have died between posting the card and recording its ts.
            thread_ts = await self._find_card(client, channel, result.call_id)
        if thread_ts is not None:
            text, card = blocks.ended_card(result)
            try:
                await client.chat_update(channel=channel, ts=thread_ts, text=text, blocks=card)
            except SlackApiError as exc:
                if slack_error(exc) != "message_not_found":
                    raise
                thread_ts = None  # the card was deleted: post the result in the channel
        text, message = blocks.result_message(result)
        metadata = blocks.result_metadata(
            result.call_id, attempt.delivery_id, recording=bool(result.recording_url)
        )
        if attempt.uncertain or attempt.attempt > 1:
            posted = await self._already_posted(client, channel, thread_ts, result.call_id)
            if posted is not None:
                ts, shown = posted
                if shown != metadata["event_payload"]:
                    # A newer result (its recording became available): edit it in place.
                    await client.chat_update(
                        channel=channel, ts=ts, text=text, blocks=message, metadata=metadata
                    )
                log.info("slack.result_already_posted", call_id=result.call_id, channel=channel)
                return
        ts = await post_message(
            client,
            channel=channel,
            auto_join=self.auto_join,
            thread_ts=thread_ts,
            text=text,
            blocks=message,
            metadata=metadata,
            unfurl_links=False,
        )
        log.info("slack.result_posted", call_id=result.call_id, channel=channel, ts=ts)

    async def _already_posted(
        self, client: AsyncWebClient, channel: str, thread_ts: str | None, call_id: str
    ) -> tuple[str, dict[str, Any]] | None:
        """(ts, metadata payload) of this call's result message when it is already there."""
        try:
            response = await self._read_thread(client, channel, thread_ts)
        except SlackApiError as exc:
            error = slack_error(exc)
            if error == "thread_not_found":
                return None
            if error not in NOT_A_MEMBER:
                raise
            if not self.auto_join or error != "not_in_channel":
                raise ChannelUnavailable(channel, error) from None
            await join(client, channel)
            response = await self._read_thread(client, channel, thread_ts)
        for message in response["messages"] or []:
            if _is_ours(message, blocks.RESULT_EVENT, call_id):
                payload = (message.get("metadata") or {}).get("event_payload") or {}
                return str(message["ts"]), dict(payload)
        return None

    async def _read_thread(
        self, client: AsyncWebClient, channel: str, thread_ts: str | None
    ) -> AsyncSlackResponse:
        if thread_ts is not None:
            return await client.conversations_replies(
                channel=channel, ts=thread_ts, include_all_metadata=True, limit=HISTORY_LIMIT
            )
        return await client.conversations_history(
            channel=channel, include_all_metadata=True, limit=HISTORY_LIMIT
        )

    async def _find_card(self, client: AsyncWebClient, channel: str, call_id: str) -> str | None:
        try:
            response = await client.conversations_history(
                channel=channel, include_all_metadata=True, limit=HISTORY_LIMIT
            )
        except SlackApiError as exc:
            if exc.response.status_code == 429:
                raise
            return None
        for message in response["messages"] or []:
            if _is_ours(message, CARD_EVENT, call_id):
                return str(message["ts"])
        return None


def _is_ours(message: dict[str, Any], event_type: str, call_id: str) -> bool:
    metadata = message.get("metadata") or {}
    payload = metadata.get("event_payload") or {}
    return bool(metadata.get("event_type") == event_type and payload.get("call_id") == call_id)


def _failure(exc: SlackApiError) -> DeliveryOutcome:
    status = exc.response.status_code
    error = slack_error(exc)
    if status == 429:
        return DeliveryOutcome(
            ok=False,
            status_code=429,
            error="slack: ratelimited",
            retry_after=slack_retry_after(exc),
        )
    return DeliveryOutcome(
        ok=False, status_code=status, error=f"slack: {error}", permanent=error in PERMANENT
    )


def destination(settings: Settings, config: GatewayConfig, db: Database) -> SlackDestination | None:
    """The `slack` kind's factory (entry point): None while Slack is not configured."""
    slack = settings.section(SlackSettings)
    if not slack.enabled:
        return None
    sealer = token_sealer(settings) if slack.slack_bot_token is None else None
    workspaces = SlackWorkspaces.from_settings(slack, db, sealer)
    return SlackDestination(workspaces, auto_join=slack_options(config).auto_join)
