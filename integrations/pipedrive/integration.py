"""`PipedriveIntegration`: the `pipedrive_person` write-back (the preset is in `preset.py`)."""

from __future__ import annotations

from gateway.config import GatewayConfig
from gateway.context import AppContext
from gateway.plugins import Contribution
from gateway.settings import Settings, SettingsSection
from gateway.store.database import Database
from integrations.pipedrive.writeback import (
    DEFAULT_API_URL,
    PIPEDRIVE_PERSON,
    PipedrivePersonDestination,
)


class PipedriveSettings(SettingsSection):
    """`PIPEDRIVE_API_URL`: where the Pipedrive API is (a stand-in in tests)."""

    pipedrive_api_url: str = DEFAULT_API_URL


class PipedriveIntegration:
    """Declares the `pipedrive_person` notify entry (its destination is `destination` below)."""

    name = "pipedrive"
    write_backs = (PIPEDRIVE_PERSON,)

    settings_class = PipedriveSettings

    def setup(self, ctx: AppContext) -> Contribution:
        """Nothing to serve: its webhooks arrive as hooks, its destination is an entry point."""
        return Contribution()


def destination(
    settings: Settings, config: GatewayConfig, db: Database
) -> PipedrivePersonDestination:
    """The write-back destination kind's factory (entry point); always on."""
    return PipedrivePersonDestination(settings.section(PipedriveSettings).pipedrive_api_url)
