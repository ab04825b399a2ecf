"""Salesforce: Outbound Messages and Flow callouts start calls (presets); results go back to
the record as a call Task (the `salesforce_record` destination)."""

from __future__ import annotations

from integrations.salesforce.integration import SalesforceIntegration

integration = SalesforceIntegration()

__all__ = ["SalesforceIntegration", "integration"]
