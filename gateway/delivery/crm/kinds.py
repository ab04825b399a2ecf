"""How a notify entry names a CRM record, and how its credentials are read.

A `WriteBackKind` is declared by the CRM's integration. The hooks integration uses it to
validate `notify = [{ <kind> = "<expression>", … }]` at start-up and, for each request, to
turn the entry into a delivery whose config holds the resolved `record_id`.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from gateway.calls.commands import DestinationSpec
from gateway.delivery.crm.failures import AuthHint, CrmFailure
from gateway.delivery.registry import DeliveryOutcome
from gateway.logging import redactor
from gateway.plugins import installed
from gateway.validation import first_problem


@dataclass(frozen=True)
class WriteBackKind:
    """A CRM record destination as a notify entry sees it.

    `kind` is both the entry's key (`hubspot_contact = "body.hs_object_id"`) and the name the
    destination registers under. `options` validates the entry's other keys (secrets only by
    `*_env` name); the option names in `mapped` are expressions too, resolved at hook time
    like the record id (a missing value leaves the option out). `record_id` is what a
    resolved id must look like, `record_id_hint` says it in words for the 422 answer.
    """

    kind: str
    crm: str
    options: type[BaseModel]
    record_id: re.Pattern[str]
    record_id_hint: str
    mapped: tuple[str, ...] = ()

    def parse_options(self, entry: Mapping[str, Any]) -> BaseModel:
        """The entry's keys other than `kind`, validated; raises `ValueError` naming the key."""
        rest = {k: v for k, v in entry.items() if k != self.kind}
        try:
            return self.options.model_validate(rest)
        except ValidationError as exc:
            raise ValueError(first_problem(exc, self.kind)) from None

    def check_record_id(self, value: str) -> str:
        """`value` when it looks like this CRM's record id; `ValueError` otherwise."""
        if not self.record_id.fullmatch(value):
            raise ValueError(f"gave {value[:40]!r}, expected {self.record_id_hint}")
        return value


def credential_envs(options: BaseModel) -> dict[str, str]:
    """`{option name: environment variable}` for every set `*_env` option."""
    found: dict[str, str] = {}
    for name, value in options.model_dump().items():
        if name.endswith("_env") and isinstance(value, str) and value:
            found[name] = value
    return found


def record_destination(
    kind: WriteBackKind,
    record_id: str,
    options: BaseModel,
    mapped: Mapping[str, str | None],
) -> DestinationSpec:
    """The delivery for one request: `record_id` and the options, resolved and stored.

    The key is `<kind>:<record id>`, so one call writes once per record even when two
    entries name the same record.
    """
    config: dict[str, Any] = {
        k: v for k, v in options.model_dump(mode="json").items() if v is not None
    }
    for name in kind.mapped:
        config.pop(name, None)
        value = mapped.get(name)
        if value is not None:
            config[name] = value
    config["record_id"] = record_id
    return DestinationSpec(kind=kind.kind, key=f"{kind.kind}:{record_id}", config=config)


def credential(config: Mapping[str, Any], key: str, auth: AuthHint) -> str:
    """The secret in the environment variable that `config[key]` names.

    Raises `CrmFailure` (a dead letter naming the variable) when it is not set. The value is
    pinned in the log redactor, so it never reaches a log line.
    """
    env = str(config.get(key) or auth.env)
    value = os.environ.get(env, "")
    if not value:
        raise CrmFailure(
            DeliveryOutcome(
                ok=False,
                error=f"{auth.crm}: the environment variable {env} ({key}) is not set; "
                f"it must hold {auth.needs}",
                permanent=True,
            )
        )
    redactor.pin(value)
    return value


@functools.cache
def write_back_kinds() -> dict[str, WriteBackKind]:
    """Every write-back kind the installed integrations declare (their `write_backs`)."""
    found: dict[str, WriteBackKind] = {}
    for integration in installed():
        for kind in getattr(integration, "write_backs", ()):
            if kind.kind in found:
                raise ValueError(f"write-back kind {kind.kind!r} is declared twice")
            found[kind.kind] = kind
    return found
