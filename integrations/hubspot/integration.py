"""`HubSpotIntegration`: the `hubspot_contact` write-back (the preset lives in `preset.py`)."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.routing import BaseRoute

from gateway.context import AppContext
from integrations.hubspot.writeback import (
    DEFAULT_API_URL,
    HUBSPOT_CONTACT,
    HubSpotContactDestination,
)


class HubSpotSettings(BaseSettings):
    """`HUBSPOT_API_URL`: where the HubSpot API is (a stand-in in tests)."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    hubspot_api_url: str = DEFAULT_API_URL


class HubSpotIntegration:
    """Declares the `hubspot_contact` notify entry and registers its destination."""

    name = "hubspot"
    write_backs = (HUBSPOT_CONTACT,)

    def setup(self, ctx: AppContext) -> Sequence[BaseRoute]:
        """Register `hubspot_contact`; no routes (HubSpot's webhooks arrive as hooks)."""
        destination = HubSpotContactDestination(HubSpotSettings().hubspot_api_url)
        ctx.destinations.register(destination)
        ctx.on_shutdown.append(destination.aclose)
        return []
