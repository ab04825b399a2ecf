"""`[hooks.NAME]` tables: validated at start into ready-to-run `Hook` objects.

A mistake stops start-up with one `ConfigError` naming the file, the table and the key.
Secrets are referenced only by environment variable name (`*_env`) and read here, once.
The tables' keys are checked by the models in `schema.py`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
from pydantic import BaseModel, ValidationError

from gateway.config import ConfigError, describe_error
from gateway.delivery.crm import WriteBackKind, credential_envs, write_back_kinds
from gateway.delivery.ssrf import UnsafeCallbackURL, check_url_shape
from gateway.limits.buckets import TokenBucket
from gateway.logging import redactor
from gateway.phone import InvalidPhoneNumber, to_e164
from integrations.hooks import auth
from integrations.hooks.adapters import PayloadAdapter
from integrations.hooks.mapping import Expression, compile_expression
from integrations.hooks.presets import GENERIC, load_preset, merge
from integrations.hooks.ratelimit import rate_bucket
from integrations.hooks.schema import AuthConfig, HookConfig, NotifyConfig, WriteBackEntry

log = structlog.get_logger(__name__)

HOOK_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$")


@dataclass(frozen=True)
class WriteBack:
    """A notify entry naming a CRM record: its kind, options and compiled expressions."""

    kind: WriteBackKind
    options: BaseModel
    record: Expression
    mapped: dict[str, Expression]


def compile_write_back(entry: WriteBackEntry) -> WriteBack:
    """The entry, ready to resolve against requests (it was validated already)."""
    kind = write_back_kinds()[entry.kind]
    options = kind.options.model_validate(entry.options)
    mapped = {
        name: compile_expression(value)
        for name in kind.mapped
        if isinstance(value := getattr(options, name, None), str)
    }
    return WriteBack(kind, options, compile_expression(entry.record_from), mapped)


@dataclass
class Hook:
    """A configured hook, ready to serve requests."""

    name: str
    config: HookConfig
    verifier: auth.Verifier
    adapter: PayloadAdapter
    variables: dict[str, Expression] = field(default_factory=dict)
    metadata: dict[str, Expression] = field(default_factory=dict)
    agent_fields: dict[str, Expression] = field(default_factory=dict)
    agent_from: Expression | None = None
    idempotency_key: Expression | None = None
    callback_from: dict[int, Expression] = field(default_factory=dict)  # notify index → expr
    write_backs: dict[int, WriteBack] = field(default_factory=dict)  # notify index → write-back
    limiter: TokenBucket | None = None
    to_number: Expression | None = None  # start_phone_call
    from_number: str | None = None  # start_phone_call, E.164 (else ONEINBOX_FROM_NUMBER)


def _compiled(sources: Mapping[str, str]) -> dict[str, Expression]:
    return {name: compile_expression(source) for name, source in sources.items()}


class _Errors:
    """Builds the one-line messages for one hook's table."""

    def __init__(self, path: Path | str, name: str) -> None:
        self.path, self.table = path, f"hooks.{name}"

    def at(self, key: str, message: str) -> ConfigError:
        return ConfigError(f"{self.path}: [{self.table}] {key}: {message}")


def _secret(errors: _Errors, key: str, env: str | None) -> str:
    assert env is not None  # the model made sure the scheme's keys are there
    value = os.environ.get(env, "")
    if not value:
        raise errors.at(key, f"environment variable {env} is not set")
    redactor.pin(value)
    return value


def build_verifier(errors: _Errors, name: str, cfg: AuthConfig) -> auth.Verifier:
    """The verifier for `cfg`, with its secrets read from the environment."""
    if cfg.scheme == "none":
        log.warning("hooks.unauthenticated", hook=name, hint="auth.scheme = none: anyone may call")
        return auth.NoAuth()
    if cfg.scheme == "bearer":
        return auth.Bearer(_secret(errors, "auth.token_env", cfg.token_env))
    if cfg.scheme == "basic":
        user = _secret(errors, "auth.username_env", cfg.username_env)
        return auth.Basic(user, _secret(errors, "auth.password_env", cfg.password_env))
    secret = _secret(errors, "auth.secret_env", cfg.secret_env)
    if cfg.scheme == "hubspot_v3":
        return auth.HubSpotV3(secret)
    if cfg.scheme == "hmac_sha256":
        assert cfg.header is not None
        return auth.HmacSha256(secret, cfg.header, cfg.prefix, cfg.encoding)
    try:
        return auth.StandardWebhooks(secret)
    except ValueError as exc:
        raise errors.at("auth.secret_env", f"{cfg.secret_env}: {exc}") from None


def _offered_write_backs(hook: str, preset: str, notify: list[NotifyConfig]) -> list[NotifyConfig]:
    """A preset's own write-back is on once its credentials are set, quietly off before.

    (A write-back the hook's table names itself needs its credentials: a missing one stops
    start-up.)
    """
    kept: list[NotifyConfig] = []
    for entry in notify:
        if entry.write_back is not None:
            kind = write_back_kinds()[entry.write_back.kind]
            options = kind.options.model_validate(entry.write_back.options)
            unset = [env for env in credential_envs(options).values() if not os.environ.get(env)]
            if unset:
                log.warning(
                    "hooks.write_back_off",
                    hook=hook,
                    preset=preset,
                    destination=kind.kind,
                    hint=f"set {' and '.join(unset)} to write results back to {kind.crm}",
                )
                continue
        kept.append(entry)
    return kept


def build_hook(
    path: Path | str,
    name: str,
    table: Mapping[str, Any],
    *,
    allow_private: bool,
    default_region: str | None = None,
) -> Hook:
    """Validate one `[hooks.NAME]` table into a `Hook`; raises `ConfigError`.

    `default_region` (PHONE_DEFAULT_REGION) reads a national `from_number`.
    """
    errors = _Errors(path, name)
    if not HOOK_NAME.match(name):
        raise errors.at("(table)", "a hook name uses letters, digits, '-', '_' and '.'")
    if not isinstance(table, Mapping):
        raise errors.at("(table)", "must be a table")
    preset = GENERIC
    if "preset" in table:
        try:
            preset = load_preset(str(table["preset"]))
        except ValueError as exc:
            raise errors.at("preset", str(exc)) from None
    try:
        cfg = HookConfig.model_validate(merge(preset.defaults_for(table.get("action")), table))
    except ValidationError as exc:
        raise ConfigError(describe_error(path, errors.table, exc)) from None
    if "notify" not in table:
        cfg.notify = _offered_write_backs(name, preset.name, cfg.notify)
    try:
        adapter = preset.make_adapter(cfg.options)
    except ValueError as exc:
        raise errors.at("options", str(exc)) from None
    write_backs: dict[int, WriteBack] = {}
    for index, entry in enumerate(cfg.notify):
        if entry.callback_url is not None:
            try:
                check_url_shape(entry.callback_url, allow_private=allow_private)
            except UnsafeCallbackURL as exc:
                raise errors.at(f"notify.{index}.callback_url", str(exc)) from None
        if entry.secret_env is not None:
            _secret(errors, f"notify.{index}.secret_env", entry.secret_env)
        if entry.write_back is not None:
            write_backs[index] = compile_write_back(entry.write_back)
            for key, env in credential_envs(write_backs[index].options).items():
                _secret(errors, f"notify.{index}.{key}", env)
    limiter = rate_bucket(cfg.rate_limit) if cfg.rate_limit else None
    from_number = None
    if cfg.from_number is not None:
        try:
            from_number = to_e164(cfg.from_number, default_region)
        except InvalidPhoneNumber as exc:
            raise errors.at("from_number", f"not a phone number to call from: {exc}") from None
    return Hook(
        name=name,
        config=cfg,
        verifier=build_verifier(errors, name, cfg.auth),
        adapter=adapter,
        variables=_compiled(cfg.variables),
        metadata=_compiled(cfg.metadata),
        agent_fields=_compiled(cfg.agent_fields),
        agent_from=compile_expression(cfg.agent_from) if cfg.agent_from else None,
        idempotency_key=compile_expression(cfg.idempotency_key) if cfg.idempotency_key else None,
        callback_from={
            i: compile_expression(n.callback_url_from)
            for i, n in enumerate(cfg.notify)
            if n.callback_url_from
        },
        write_backs=write_backs,
        limiter=limiter,
        to_number=compile_expression(cfg.to_number) if cfg.to_number else None,
        from_number=from_number,
    )


def load_hooks(
    path: Path | str,
    tables: Mapping[str, Any],
    *,
    allow_private: bool,
    default_region: str | None = None,
) -> dict[str, Hook]:
    """Every `[hooks.*]` table, validated; raises `ConfigError` at the first mistake."""
    if not isinstance(tables, Mapping):
        raise ConfigError(f"{path}: [hooks] must be a table of hooks")
    return {
        name: build_hook(
            path, name, table, allow_private=allow_private, default_region=default_region
        )
        for name, table in tables.items()
    }
