"""The settings the app reads: the core's `Settings` and every integration's section."""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import BaseSettings

from gateway.settings import Settings, settings_classes


def _classes() -> list[type[BaseSettings]]:
    return [Settings, *settings_classes()]


def all_settings() -> set[str]:
    """Every environment variable the gateway reads."""
    return {name.upper() for cls in _classes() for name in cls.model_fields}


def secret_settings() -> set[str]:
    """Settings typed `SecretStr`: they belong in a secret store, never in plain config."""
    return {
        name.upper()
        for cls in _classes()
        for name, info in cls.model_fields.items()
        if "SecretStr" in str(info.annotation) or info.annotation is SecretStr
    }
