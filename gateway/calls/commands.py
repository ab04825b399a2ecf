"""Domain commands: every origin (Slack, a hook, the admin API) turns its request into these."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

E164 = r"^\+[1-9][0-9]{1,14}$"


class Origin(BaseModel):
    """Where a request came from, so a result can always be traced back.

    `kind` names the origin: `hook`, `admin`, `dashboard`, or an integration's own (`slack`).
    A call's result carries the same origin back to its destinations.
    """

    kind: str
    name: str
    context: dict[str, Any] = Field(default_factory=dict)


class DestinationSpec(BaseModel):
    """Where a call's result goes: a registered destination name and its (secret-free) config.

    `key` tells two destinations of the same kind apart (a URL, a channel); the outbox keeps one
    delivery per (call, key).
    """

    kind: str
    key: str
    config: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def callback(cls, url: str, secret_env: str | None = None) -> DestinationSpec:
        """A signed (when `secret_env` names the secret's variable) POST of the result to `url`.

        The URL must have passed the SSRF guard (`gateway.delivery.ssrf`) before.
        """
        config: dict[str, Any] = {"url": url}
        if secret_env is not None:
            config["secret_env"] = secret_env
        return cls(kind="callback", key=url, config=config)


class StartWebCall(BaseModel):
    agent: str  # an agent id (agt_… or a UUID) or a name the gateway knows
    variables: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)
    overrides: dict[str, Any] | None = None
    origin: Origin
    destinations: list[DestinationSpec] = Field(default_factory=list)


class StartPhoneCall(BaseModel):
    """Place an outbound phone call; origins normalise the numbers first (`gateway.phone`)."""

    agent: str
    to_number: str = Field(pattern=E164)
    from_number: str | None = Field(default=None, pattern=E164)
    variables: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)
    origin: Origin
    destinations: list[DestinationSpec] = Field(default_factory=list)


class CreateAgent(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    fields: dict[str, Any] = Field(default_factory=dict)  # any documented agent field


class StartedCall(BaseModel):
    """What an origin answers with at once."""

    call_id: str
    agent_id: str
    agent_name: str | None
    join_url: str
    join_expires_at: str


class StartedPhoneCall(BaseModel):
    """What an origin answers with once a phone call is placed (there is no join link)."""

    call_id: str
    agent_id: str
    agent_name: str | None
    to_number: str


class CreatedAgent(BaseModel):
    agent_id: str
    llm_id: str | None
    name: str
