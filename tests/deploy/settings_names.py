"""The settings the app reads, introspected from `gateway.settings.Settings`."""

from __future__ import annotations

from pydantic import SecretStr

from gateway.settings import Settings


def all_settings() -> set[str]:
    """Every environment variable the gateway reads."""
    return {name.upper() for name in Settings.model_fields}


def secret_settings() -> set[str]:
    """Settings typed `SecretStr`: they belong in a secret store, never in plain config."""
    return {
        name.upper()
        for name, info in Settings.model_fields.items()
        if "SecretStr" in str(info.annotation) or info.annotation is SecretStr
    }
