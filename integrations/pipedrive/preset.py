"""`preset = "pipedrive"`: webhooks v2 with basic auth; one call per person event; the result
written back as a note on the person (`pipedrive_person`, once `PIPEDRIVE_API_TOKEN` is set).

Pipedrive retries a failed delivery with the same `meta.id` but a higher `meta.attempt`,
so the fingerprint that tells a retry from a different request leaves `meta.attempt` out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from integrations.hooks.adapters import Answer, Item, JSONAdapter, PayloadAdapter
from integrations.hooks.presets import Preset

VOLATILE_META = ("attempt", "timestamp")


class PipedriveAdapter:
    """A JSON event whose fingerprint ignores the delivery attempt."""

    def __init__(self) -> None:
        self.json = JSONAdapter()

    def parse(self, request: Request, raw: bytes) -> list[Item]:
        """One item; `meta.attempt` and `meta.timestamp` do not count as a different request."""
        (item,) = self.json.parse(request, raw)
        body = item.body
        if isinstance(body, dict) and isinstance(body.get("meta"), dict):
            meta = {k: v for k, v in body["meta"].items() if k not in VOLATILE_META}
            stable = json.dumps({**body, "meta": meta}, sort_keys=True).encode()
            return [Item(body=body, raw=stable)]
        return [item]

    def acknowledge(self, answers: Sequence[Answer]) -> Response | None:
        return None


def make_adapter(options: Mapping[str, Any]) -> PayloadAdapter:
    """The Pipedrive adapter; it takes no options."""
    if options:
        raise ValueError(f"takes no options (got {', '.join(sorted(options))})")
    return PipedriveAdapter()


PRESETS = {
    "default": Preset(
        "pipedrive",
        defaults={
            "auth": {
                "scheme": "basic",
                "username_env": "PIPEDRIVE_HOOK_USER",
                "password_env": "PIPEDRIVE_HOOK_PASSWORD",
            },
            "idempotency_key": "body.meta.id",
            "variables": {
                "customer_name": "body.data.first_name || body.data.name || 'there'",
                "phone": "(body.data.phones[?primary] || body.data.phones)[0].value || ''",
            },
            "metadata": {
                "crm": "'pipedrive'",
                "crm_person_id": "body.data.id",
                "crm_event_id": "body.meta.id",
            },
            # Written back to the person once PIPEDRIVE_API_TOKEN is set.
            "notify": [{"pipedrive_person": "body.data.id"}],
        },
        make_adapter=make_adapter,
        # The person's primary phone (Pipedrive lists phones with one marked `primary`).
        phone={"to_number": "(body.data.phones[?primary] || body.data.phones)[0].value"},
    )
}
