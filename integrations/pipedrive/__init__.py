"""Pipedrive: a preset for webhooks v2 (basic auth), deduplicated on `meta.id`."""
