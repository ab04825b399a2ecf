"""Posting into a channel the bot may not be in yet: join when allowed, else say how to invite."""

from __future__ import annotations

from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from gateway.http.retry_after import parse_retry_after

# Errors that mean "the bot cannot post here until someone invites it".
NOT_A_MEMBER = frozenset({"not_in_channel", "channel_not_found"})


class ChannelUnavailable(Exception):
    """The bot is not in the channel and may not (or cannot) join it."""

    def __init__(self, channel: str, error: str) -> None:
        super().__init__(
            f"the Slack app is not in channel {channel} ({error}); "
            "invite it with /invite @<app name> in that channel"
        )
        self.channel = channel
        self.error = error


def invite_hint(bot_user_id: str | None) -> str:
    """What to tell a user whose channel the bot cannot post in."""
    bot = f"<@{bot_user_id}>" if bot_user_id else "the app"
    return (
        f"I'm not in this channel yet, so I answer only here. To get call cards and results "
        f"in the channel, invite me: `/invite {bot}`."
    )


def slack_error(exc: SlackApiError) -> str:
    """The `error` code of a Web API error response."""
    data = exc.response.data if isinstance(exc.response.data, dict) else {}
    return str(data.get("error") or f"http_{exc.response.status_code}")


def slack_retry_after(exc: SlackApiError) -> float:
    """The seconds a 429 asks to wait (1 when it names none usable)."""
    headers = exc.response.headers
    raw = headers.get("retry-after") or headers.get("Retry-After")
    seconds = parse_retry_after(str(raw) if raw is not None else None)
    return 1.0 if seconds is None else seconds


async def post_message(
    client: AsyncWebClient, *, channel: str, auto_join: bool, **fields: Any
) -> str:
    """`chat.postMessage`; on `not_in_channel` join first when allowed. Returns the ts."""
    try:
        response = await client.chat_postMessage(channel=channel, **fields)
    except SlackApiError as exc:
        error = slack_error(exc)
        if error not in NOT_A_MEMBER:
            raise
        if not auto_join or error != "not_in_channel":
            raise ChannelUnavailable(channel, error) from None
        await join(client, channel)
        response = await client.chat_postMessage(channel=channel, **fields)
    return str(response["ts"])


async def join(client: AsyncWebClient, channel: str) -> None:
    """`conversations.join`; private channels and DMs cannot be joined this way."""
    try:
        await client.conversations_join(channel=channel)
    except SlackApiError as exc:
        if exc.response.status_code == 429:
            raise
        raise ChannelUnavailable(channel, slack_error(exc)) from None
