"""`HubSpotIntegration`: the `hubspot_contact` write-back (the preset lives in `preset.py`)."""

from __future__ import annotations

from gateway.config import GatewayConfig
from gateway.context import AppContext
from gateway.plugins import Contribution
from gateway.settings import Settings, SettingsSection
from gateway.store.database import Database
from integrations.hubspot.writeback import (
    DEFAULT_API_URL,
    HUBSPOT_CONTACT,
    HubSpotContactDestination,
)


class HubSpotSettings(SettingsSection):
    """`HUBSPOT_API_URL`: where the HubSpot API is (a stand-in in tests)."""

    hubspot_api_url: str = DEFAULT_API_URL


class HubSpotIntegration:
    """Declares the `hubspot_contact` notify entry (its destination is `destination` below)."""

    name = "hubspot"
    write_backs = (HUBSPOT_CONTACT,)

    settings_class = HubSpotSettings

    def setup(self, ctx: AppContext) -> Contribution:
        """Nothing to serve: its webhooks arrive as hooks, its destination is an entry point."""
        return Contribution()


def destination(
    settings: Settings, config: GatewayConfig, db: Database
) -> HubSpotContactDestination:
    """The write-back destination kind's factory (entry point); always on."""
    return HubSpotContactDestination(settings.section(HubSpotSettings).hubspot_api_url)
