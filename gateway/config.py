"""The hooks-and-agents file (`GATEWAY_CONFIG`, TOML): agents here, other tables for plugins."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from gateway.validation import first_problem


class ConfigError(Exception):
    """The config file is wrong; the message names the file, the table and the key."""


class AgentAlias(BaseModel):
    """`[agents.NAME]`: an existing agent id, or the fields to create it on first use."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = None
    create: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _one_of(self) -> AgentAlias:
        if (self.id is None) == (self.create is None):
            raise ValueError("give exactly one of `id` or `create`")
        return self


class GatewayConfig(BaseModel):
    """The parsed file. `tables` keeps every top-level table for the integrations to read."""

    path: Path | None = None
    agents: dict[str, AgentAlias] = Field(default_factory=dict)
    tables: dict[str, Any] = Field(default_factory=dict)

    def table(self, name: str) -> dict[str, Any]:
        value = self.tables.get(name, {})
        return value if isinstance(value, dict) else {}


def describe_error(path: Path | str, table: str, exc: ValidationError) -> str:
    """One line: `gateway.toml: [hooks.x] key: problem`."""
    return f"{path}: [{table}] {first_problem(exc, '(table)')}"


def load_config(path: Path | None) -> GatewayConfig:
    """Read and validate the file; no file gives an empty config."""
    if path is None:
        return GatewayConfig()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: GATEWAY_CONFIG names a file that does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    agents: dict[str, AgentAlias] = {}
    raw_agents = data.get("agents", {})
    if not isinstance(raw_agents, dict):
        raise ConfigError(f"{path}: [agents] must be a table of agent aliases")
    for name, body in raw_agents.items():
        try:
            agents[name] = AgentAlias.model_validate(body)
        except ValidationError as exc:
            raise ConfigError(describe_error(path, f"agents.{name}", exc)) from None
    return GatewayConfig(path=path, agents=agents, tables=data)
