"""HubSpot: a preset for workflow "Send a webhook" actions signed with signature v3."""
