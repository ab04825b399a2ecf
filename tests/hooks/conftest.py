"""Environment every hooks test config refers to by name (`*_env`)."""

from __future__ import annotations

import pytest

TOKENS = {
    "NEW_LEAD_TOKEN": "lead-token-0123456789",
    "MAKE_AGENT_TOKEN": "make-agent-token-0123456789",
    "HOOK_WHSEC": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "HOOK_HMAC_SECRET": "hmac-secret-0123456789",
    "HOOK_USER": "pipedrive-user",
    "HOOK_PASSWORD": "pipedrive-password-0123",
    "HUBSPOT_CLIENT_SECRET": "hubspot-client-secret-0123",
}


@pytest.fixture(autouse=True)
def hook_secrets(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name, value in TOKENS.items():
        monkeypatch.setenv(name, value)
    return TOKENS
