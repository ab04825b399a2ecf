"""HubSpot: a preset for workflow "Send a webhook" actions signed with signature v3, and the
`hubspot_contact` write-back (a call engagement on the contact's timeline)."""

from integrations.hubspot.integration import HubSpotIntegration

integration = HubSpotIntegration()
