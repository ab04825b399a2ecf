"""Slack: the `/voice` slash command, its buttons and the `slack` result destination."""

from __future__ import annotations

from integrations.slack.integration import SlackIntegration

integration = SlackIntegration()

__all__ = ["SlackIntegration", "integration"]
