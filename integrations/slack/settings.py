"""`SlackSettings`: the Slack integration's environment variables (`SLACK_*`)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import NoDecode

from gateway.settings import SettingsSection, http_url


class SlackSettings(SettingsSection):
    """Slack is on when `SLACK_SIGNING_SECRET` and a bot token or an OAuth client are set."""

    slack_signing_secret: SecretStr | None = None
    slack_bot_token: SecretStr | None = None
    slack_client_id: str | None = None
    slack_client_secret: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    slack_command: str = "/voice"
    # Where operator alerts go (a disabled destination): a channel id, or T…/C… with OAuth.
    slack_alert_channel: str | None = None
    slack_admin_users: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Who may place phone calls from Slack (they cost money); unset: SLACK_ADMIN_USERS decides.
    slack_dial_users: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @field_validator("slack_api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return http_url(value)

    @field_validator("slack_admin_users", "slack_dial_users", mode="before")
    @classmethod
    def _split_user_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.replace(" ", ",").split(",") if part.strip()]
        return value

    @property
    def enabled(self) -> bool:
        """Single-workspace (bot token) or OAuth mode is fully configured."""
        single = self.slack_bot_token is not None and self.slack_signing_secret is not None
        oauth = self.slack_client_id is not None and self.slack_client_secret is not None
        return single or (oauth and self.slack_signing_secret is not None)
