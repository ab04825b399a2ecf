"""Which Slack workspace(s) the gateway talks to, and a Web API client for each.

Single-workspace mode: `SLACK_BOT_TOKEN` + `SLACK_SIGNING_SECRET`. OAuth mode:
`SLACK_CLIENT_ID`/`SLACK_CLIENT_SECRET`; installations and OAuth states live in the gateway's
own database through slack_sdk's async SQLAlchemy stores (migration 0002_slack).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import aiohttp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient

from gateway.sealing import Sealer
from gateway.store.database import Database
from integrations.slack.installations import SealedInstallationStore
from integrations.slack.settings import SlackSettings

# The scopes the gateway uses; deploy/slack/manifest.yaml lists the same.
BOT_SCOPES = [
    "commands",
    "chat:write",
    "channels:join",
    "channels:history",
    "groups:history",
    "im:history",
    "mpim:history",
]
OAUTH_STATE_SECONDS = 600


class NoInstallationError(Exception):
    """The gateway has no bot token for that workspace (the app is not installed there)."""


@dataclass
class SlackWorkspaces:
    """Web API clients per workspace, from the bot token or the installation store."""

    api_url: str
    bot_token: str | None = field(repr=False)
    installations: SealedInstallationStore | None = None
    states: AsyncSQLAlchemyOAuthStateStore | None = None
    # One connection pool for every Web API call (bolt's per-request clients share it too).
    session: aiohttp.ClientSession | None = field(default=None, repr=False)

    async def open(self) -> aiohttp.ClientSession:
        """Create the shared HTTP session (inside the running loop, at start-up)."""
        if self.session is None:
            self.session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=100),
                timeout=aiohttp.ClientTimeout(total=30),
            )
        return self.session

    async def close(self) -> None:
        """Close the shared HTTP session (at shutdown)."""
        if self.session is not None:
            await self.session.close()
            self.session = None

    @classmethod
    def from_settings(
        cls, settings: SlackSettings, db: Database, sealer: Sealer | None = None
    ) -> SlackWorkspaces:
        """Single-workspace mode when a bot token is set, else OAuth mode, whose stored
        tokens `sealer` encrypts (`installations.token_sealer`)."""
        api_url = (
            settings.slack_api_url
            if settings.slack_api_url.endswith("/")
            else (settings.slack_api_url + "/")
        )
        if settings.slack_bot_token is not None:
            return cls(api_url, settings.slack_bot_token.get_secret_value())
        assert settings.slack_client_id is not None
        if sealer is None:
            raise ValueError("OAuth mode stores tokens: give the sealer that encrypts them")
        return cls(
            api_url,
            None,
            installations=SealedInstallationStore(settings.slack_client_id, db.engine, sealer),
            states=AsyncSQLAlchemyOAuthStateStore(
                expiration_seconds=OAUTH_STATE_SECONDS, engine=db.engine
            ),
        )

    @property
    def oauth(self) -> bool:
        return self.installations is not None

    def client(self, token: str | None = None, *, retry_rate_limits: bool = True) -> AsyncWebClient:
        """A client on `SLACK_API_URL`; interactive paths retry once after a 429."""
        handlers = [AsyncConnectionErrorRetryHandler()]
        if retry_rate_limits:
            handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=1))  # type: ignore[arg-type]
        return AsyncWebClient(
            token=token,
            base_url=self.api_url,
            session=self.session,
            retry_handlers=handlers,  # type: ignore[arg-type]
        )

    async def token_for(self, team_id: str | None) -> str:
        """The bot token for a workspace; raises `NoInstallationError`."""
        if self.bot_token is not None:
            return self.bot_token
        assert self.installations is not None
        if team_id is None:
            team_id = await self._only_team()
        bot = await self.installations.async_find_bot(enterprise_id=None, team_id=team_id)
        if bot is None or not bot.bot_token:
            raise NoInstallationError(f"the Slack app is not installed in workspace {team_id}")
        return bot.bot_token

    async def _only_team(self) -> str:
        """The one workspace the app is installed in (a hook's channel names no workspace)."""
        assert self.installations is not None
        teams = await self.installations.bot_teams(limit=2)
        if len(teams) != 1 or teams[0] is None:
            where = "no workspace" if not teams else "several workspaces"
            raise NoInstallationError(
                f"no workspace given and the Slack app is installed in {where}; "
                "give the workspace (team_id) with the channel"
            )
        return str(teams[0])
