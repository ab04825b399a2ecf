"""`preset = "salesforce"` (Outbound Messages) and `preset = "salesforce.flow"` (Flow callouts).

Both map the record that asked for the call, so a hook writes the result back to it with
`notify = [{ salesforce_record = true, client_id_env = …, client_secret_env = … }]`.
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
        },
        make_adapter=make_adapter,
        record_ids={"salesforce_record": "body.sObject.Id"},
    ),
    "flow": Preset(
        "salesforce.flow",
        defaults={
            "auth": {"scheme": "bearer", "token_env": "SALESFORCE_FLOW_TOKEN"},
            "variables": {"customer_name": "body.firstName || body.name || 'there'"},
            "metadata": {"crm": "'salesforce'", "crm_record_id": "body.recordId"},
        },
        record_ids={"salesforce_record": "body.recordId"},
    ),
}
