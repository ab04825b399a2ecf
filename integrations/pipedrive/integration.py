"""`PipedriveIntegration`: the `pipedrive_person` write-back (the preset is in `preset.py`)."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.routing import BaseRoute

from gateway.context import AppContext
from integrations.pipedrive.writeback import (
    DEFAULT_API_URL,
    PIPEDRIVE_PERSON,
    PipedrivePersonDestination,
)


class PipedriveSettings(BaseSettings):
    """`PIPEDRIVE_API_URL`: where the Pipedrive API is (a stand-in in tests)."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    pipedrive_api_url: str = DEFAULT_API_URL


class PipedriveIntegration:
    """Declares the `pipedrive_person` notify entry and registers its destination."""

    name = "pipedrive"
    write_backs = (PIPEDRIVE_PERSON,)

    def setup(self, ctx: AppContext) -> Sequence[BaseRoute]:
        """Register `pipedrive_person`; no routes (Pipedrive's webhooks arrive as hooks)."""
        destination = PipedrivePersonDestination(PipedriveSettings().pipedrive_api_url)
        ctx.destinations.register(destination)
        ctx.on_shutdown.append(destination.aclose)
        return []
