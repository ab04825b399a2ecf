"""The shape of a `[hooks.NAME]` table: pydantic models that check every key (the preset's
defaults merged under it) before `config.py` builds the hook."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gateway.delivery.crm import write_back_kinds
from gateway.delivery.redact import PersonalData
from integrations.hooks import auth
from integrations.hooks.mapping import compile_expression
from integrations.hooks.ratelimit import parse_rate

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _env_name(value: str | None) -> str | None:
    if value is not None and not ENV_NAME.match(value):
        raise ValueError("must name an environment variable (letters, digits, _)")
    return value


def _expression(value: str | None) -> str | None:
    if value is not None:
        compile_expression(value)
    return value


class AuthConfig(BaseModel):
    """`auth = { scheme = …, *_env = … }`."""

    model_config = ConfigDict(extra="forbid")

    scheme: auth.Scheme
    secret_env: str | None = None
    token_env: str | None = None
    username_env: str | None = None
    password_env: str | None = None
    header: str | None = None  # hmac_sha256: where the signature is
    prefix: str = ""  # hmac_sha256: e.g. "sha256="
    encoding: Literal["hex", "base64"] = "hex"

    @field_validator("secret_env", "token_env", "username_env", "password_env")
    @classmethod
    def _env_names(cls, value: str | None) -> str | None:
        return _env_name(value)

    @model_validator(mode="after")
    def _keys_for_scheme(self) -> AuthConfig:
        needed: dict[str, tuple[str, ...]] = {
            "standard_webhooks": ("secret_env",),
            "hmac_sha256": ("secret_env", "header"),
            "hubspot_v3": ("secret_env",),
            "bearer": ("token_env",),
            "basic": ("username_env", "password_env"),
            "none": (),
        }
        missing = [key for key in needed[self.scheme] if getattr(self, key) is None]
        if missing:
            raise ValueError(f"scheme {self.scheme!r} needs {' and '.join(missing)}")
        return self


class WriteBackEntry(BaseModel):
    """A CRM record write-back (`{ hubspot_contact = "body.hs_object_id", … }`), parsed."""

    kind: str
    record_from: str
    options: dict[str, Any]


class NotifyConfig(BaseModel):
    """One entry of `notify`: a callback URL (literal or mapped), a Slack channel, or a CRM
    record write-back of a kind an installed integration declares."""

    model_config = ConfigDict(extra="forbid")

    callback_url: str | None = None
    callback_url_from: str | None = None
    slack_channel: str | None = None
    secret_env: str | None = None
    write_back: WriteBackEntry | None = None
    # Personal data this destination must not see: masked in its summary and transcript.
    redact: list[PersonalData] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _crm_record(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        redact = data.get("redact")
        data = {key: value for key, value in data.items() if key != "redact"}
        kinds = write_back_kinds()
        named = [key for key in data if key in kinds]
        if not named:
            return data | ({"redact": redact} if redact is not None else {})
        if len(named) > 1 or any(k in data for k in ("callback_url", "slack_channel")):
            raise ValueError("one destination per notify entry")
        kind = kinds[named[0]]
        source = data[kind.kind]
        try:
            compile_expression(source)
        except ValueError as exc:
            raise ValueError(f"{kind.kind}: {exc}") from None
        options = kind.parse_options(data)
        for name in kind.mapped:
            value = getattr(options, name, None)
            if value is not None:
                try:
                    compile_expression(value)
                except ValueError as exc:
                    raise ValueError(f"{name}: {exc}") from None
        entry = {"kind": kind.kind, "record_from": source, "options": options.model_dump()}
        return {"write_back": entry} | ({"redact": redact} if redact is not None else {})

    @field_validator("secret_env")
    @classmethod
    def _env_names(cls, value: str | None) -> str | None:
        return _env_name(value)

    @field_validator("callback_url_from")
    @classmethod
    def _expressions(cls, value: str | None) -> str | None:
        return _expression(value)

    @model_validator(mode="after")
    def _one_target(self) -> NotifyConfig:
        if self.write_back is not None:
            return self
        targets = [self.callback_url, self.callback_url_from, self.slack_channel]
        if sum(t is not None for t in targets) != 1:
            kinds = ", ".join(sorted(write_back_kinds()))
            raise ValueError(
                "give exactly one of callback_url, callback_url_from, slack_channel"
                + (f" or a CRM record ({kinds})" if kinds else "")
            )
        if self.slack_channel is not None and self.secret_env is not None:
            raise ValueError("secret_env signs callbacks; a Slack channel takes none")
        return self


class HookConfig(BaseModel):
    """`[hooks.NAME]`, after the preset's defaults are merged under it."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["start_web_call", "start_phone_call", "create_agent"] = "start_web_call"
    preset: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)  # for the preset's adapter
    auth: AuthConfig
    agent: str | None = None
    agent_from: str | None = None
    variables: dict[str, str] = Field(default_factory=dict)
    metadata: dict[str, str] = Field(default_factory=dict)
    agent_fields: dict[str, str] = Field(default_factory=dict)
    to_number: str | None = None  # start_phone_call: an expression
    from_number: str | None = None  # start_phone_call: a literal (else ONEINBOX_FROM_NUMBER)
    idempotency_key: str | None = None
    notify: list[NotifyConfig] = Field(default_factory=list)
    rate_limit: str | None = None

    @field_validator("variables", "metadata", "agent_fields")
    @classmethod
    def _expressions(cls, value: dict[str, str]) -> dict[str, str]:
        for name, source in value.items():
            try:
                compile_expression(source)
            except ValueError as exc:
                raise ValueError(f"{name}: {exc}") from None
        return value

    @field_validator("agent_from", "idempotency_key", "to_number")
    @classmethod
    def _single_expressions(cls, value: str | None) -> str | None:
        return _expression(value)

    @field_validator("rate_limit")
    @classmethod
    def _rate(cls, value: str | None) -> str | None:
        if value is not None:
            parse_rate(value)
        return value

    @model_validator(mode="after")
    def _action_fields(self) -> HookConfig:
        phone = self.action == "start_phone_call"
        if not phone and (self.to_number is not None or self.from_number is not None):
            raise ValueError("to_number and from_number belong to action = start_phone_call")
        if phone and self.to_number is None:
            raise ValueError("start_phone_call needs `to_number` (an expression, e.g. body.phone)")
        if self.action in ("start_web_call", "start_phone_call"):
            if (self.agent is None) == (self.agent_from is None):
                raise ValueError(f"{self.action} needs exactly one of `agent` or `agent_from`")
            if self.agent_fields:
                raise ValueError("agent_fields belongs to action = create_agent")
        else:
            if "name" not in self.agent_fields:
                raise ValueError("create_agent needs agent_fields.name")
            if self.agent or self.agent_from or self.notify or self.variables:
                raise ValueError("create_agent takes only agent_fields (not agent, notify, …)")
        return self
