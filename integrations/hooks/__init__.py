"""Inbound HTTP hooks: config, auth schemes, field mapping, idempotency and presets."""

from __future__ import annotations

from integrations.hooks.integration import HooksIntegration

integration = HooksIntegration()

__all__ = ["HooksIntegration", "integration"]
