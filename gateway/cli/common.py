"""What every command shares: one-line failures and settings that exit 2 when wrong."""

from __future__ import annotations

from typing import Any, NoReturn

import typer

from gateway.config import ConfigError, load_config
from gateway.logging import configure_logging
from gateway.settings import Settings, SettingsError, load_settings


def fail(message: str, code: int = 2) -> NoReturn:
    """Print one clear line to stderr and exit."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def settings_or_exit(**overrides: Any) -> Settings:
    """The settings, or one line naming the wrong one and exit 2."""
    try:
        settings = load_settings(**overrides)
        load_config(settings.config_path)
    except (SettingsError, ConfigError) as exc:
        fail(str(exc))
    configure_logging(
        fmt=settings.log_format, level=settings.log_level, secrets=settings.secret_values()
    )
    return settings
