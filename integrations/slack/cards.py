"""Recording where a call's card is, so its result goes into the card's thread.

A call started from Slack is stored with its `slack` destination (channel, team) before the
card exists: the card needs the join link, which exists only once the call is started. After
the card is posted, its ts goes into the call's origin context and the destination's config
(and into a queued delivery's config, if the outbox made one already). If the process dies in
between, the destination finds the card by its message metadata or, failing that, posts the
result as a message in the channel: the result always has a home.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aiohttp
import structlog
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from gateway.calls.commands import DestinationSpec
from gateway.calls.service import CallService
from integrations.slack.channel import ChannelUnavailable, invite_hint, post_message

log = structlog.get_logger(__name__)


def slack_destination(
    channel: str, team_id: str | None, *, redact: Sequence[str] = (), live: bool = False
) -> DestinationSpec:
    """The `slack` destination of a call started in `channel` (the card is not posted yet);
    `redact` names the personal data masked in its result (`[slack] redact`); `live`: the
    card's thread shows the transcript while the call runs."""
    config: dict[str, Any] = {"channel": channel, "team_id": team_id, "thread_ts": None}
    if redact:
        config["redact"] = list(redact)
    if live:
        config["live"] = True
    return DestinationSpec(kind="slack", key=f"slack:{channel}", config=config)


async def post_card(
    client: AsyncWebClient,
    *,
    call_id: str,
    message: tuple[str, list[dict[str, Any]]],
    channel: str,
    auto_join: bool,
    respond: AsyncRespond,
    bot_user_id: str | None,
) -> str | None:
    """Post a call's card in `channel`; its ts, or None when it went through the reply URL.

    A channel the bot cannot post in gets the card through the command's reply URL and an
    invite hint; so does a Slack that refuses or cannot be reached.
    """
    text, card = message
    try:
        return await post_message(
            client,
            channel=channel,
            auto_join=auto_join,
            text=text,
            blocks=card,
            metadata=card_metadata(call_id),
            unfurl_links=False,
        )
    except ChannelUnavailable:
        await respond(text=text, blocks=card, response_type="in_channel")
        await respond(text=invite_hint(bot_user_id), response_type="ephemeral")
    except (SlackApiError, aiohttp.ClientError, TimeoutError):
        # Slack refused or is unreachable: the reply URL is the one way left to the user.
        log.warning("slack.card_not_posted", call_id=call_id, exc_info=True)
        await respond(text=text, blocks=card, response_type="in_channel")
    return None


def card_metadata(call_id: str) -> dict[str, Any]:
    """Message metadata marking a card, so the destination can find it after a crash."""
    return {"event_type": "oneinbox_call_card", "event_payload": {"call_id": call_id}}


async def attach_card(calls: CallService, call_id: str, *, channel: str, ts: str) -> None:
    """Point the call's `slack` destination (and any queued delivery) at the card's thread."""
    await calls.update_destination(
        call_id,
        f"slack:{channel}",
        {"thread_ts": ts},
        origin_context={"card": {"channel": channel, "ts": ts}},
    )
