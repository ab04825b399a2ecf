"""Operator alerts in Slack: a message in `SLACK_ALERT_CHANNEL` when a destination is
disabled (it failed without a success for too long and its results are now held).

The core publishes the alert (`gateway.delivery.health.DisableAlerts`); this module only
subscribes when the channel is set, so the core never knows Slack. `SLACK_ALERT_CHANNEL` is a
channel id (`C…`); with OAuth and several workspaces, `T…/C…` names the workspace too. A
message that cannot be posted is logged; the alert's log line and metric stand anyway.
"""

from __future__ import annotations

import structlog

from gateway.delivery.health import DisabledEndpoint, DisableListener
from integrations.slack.channel import post_message
from integrations.slack.workspace import SlackWorkspaces

log = structlog.get_logger(__name__)


def alert_target(value: str) -> tuple[str | None, str]:
    """`"T123/C456"` → `("T123", "C456")`; `"C456"` → `(None, "C456")`."""
    team, _, channel = value.strip().rpartition("/")
    return (team or None), channel


def disabled_alert(workspaces: SlackWorkspaces, target: str) -> DisableListener:
    """A listener that posts each disabled destination to the alert channel."""
    team, channel = alert_target(target)

    async def post(event: DisabledEndpoint) -> None:
        token = await workspaces.token_for(team)
        client = workspaces.client(token, retry_rate_limits=True)
        await post_message(
            client,
            channel=channel,
            auto_join=True,
            text=f":warning: {event.message()}",
            unfurl_links=False,
        )
        log.info("slack.alert_posted", endpoint_id=event.id, channel=channel)

    return post
