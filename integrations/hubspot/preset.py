"""`preset = "hubspot"`: signature v3, the contact properties a workflow sends, and the
result written back to the contact (`hubspot_contact`, once `HUBSPOT_ACCESS_TOKEN` is set).

HubSpot signs `method + URL + body + timestamp` with the app's client secret; the URL is
the one HubSpot called, which the gateway rebuilds from PUBLIC_BASE_URL.
"""

from __future__ import annotations

from integrations.hooks.presets import Preset

PRESETS = {
    "default": Preset(
        "hubspot",
        defaults={
            "auth": {"scheme": "hubspot_v3", "secret_env": "HUBSPOT_CLIENT_SECRET"},
            "variables": {
                "customer_name": "body.firstname || 'there'",
                "company": "body.company || ''",
            },
            "metadata": {
                "crm": "'hubspot'",
                "crm_contact_id": "body.hs_object_id",
                "crm_owner_id": "body.hubspot_owner_id || ''",
            },
            # Written back to the contact once HUBSPOT_ACCESS_TOKEN is set.
            "notify": [{"hubspot_contact": "body.hs_object_id"}],
        },
        phone={"to_number": "body.phone || body.mobilephone"},
    )
}
