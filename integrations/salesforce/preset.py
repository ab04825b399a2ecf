"""`preset = "salesforce"` (Outbound Messages) and `preset = "salesforce.flow"` (Flow callouts).

Both write the result back to the record that asked (`salesforce_record`) once
SALESFORCE_CLIENT_ID and SALESFORCE_CLIENT_SECRET are set (and SALESFORCE_LOGIN_URL).
"""

from __future__ import annotations

from integrations.hooks.presets import Preset
from integrations.salesforce.outbound import make_adapter

PRESETS = {
    "default": Preset(
        "salesforce",
        defaults={
            "variables": {
                "customer_name": "body.sObject.FirstName || body.sObject.Name || 'there'",
            },
            "metadata": {
                "crm": "'salesforce'",
                "crm_record_id": "body.sObject.Id",
                "crm_record_type": "body.sObject.type || ''",
                "salesforce_notification_id": "body.Id",
            },
            # Written back to the record once SALESFORCE_CLIENT_ID and _SECRET are set.
            "notify": [{"salesforce_record": "body.sObject.Id"}],
        },
        make_adapter=make_adapter,
        phone={"to_number": "body.sObject.Phone || body.sObject.MobilePhone"},
    ),
    "flow": Preset(
        "salesforce.flow",
        defaults={
            "auth": {"scheme": "bearer", "token_env": "SALESFORCE_FLOW_TOKEN"},
            "variables": {"customer_name": "body.firstName || body.name || 'there'"},
            "metadata": {"crm": "'salesforce'", "crm_record_id": "body.recordId"},
            "notify": [{"salesforce_record": "body.recordId"}],
        },
        phone={"to_number": "body.phone || body.mobilePhone"},
    ),
}
