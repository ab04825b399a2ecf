"""Presets: a CRM's defaults for a hook (auth scheme, mappings, payload adapter).

`preset = "hubspot"` in `[hooks.NAME]` loads the entry point `hubspot` of the group
`oneinbox_gateway.hook_presets` (a `dict[str, Preset]`, e.g.
`integrations.hubspot.preset:PRESETS`); a dotted name (`"salesforce.flow"`) picks one of
several presets it offers. So adding a CRM is a folder with its `preset.py` plus one line
in `pyproject.toml`; hooks never name a CRM.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

from integrations.hooks.adapters import JSONAdapter, PayloadAdapter

PRESET_ENTRY_POINTS = "oneinbox_gateway.hook_presets"
NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)?$")


def json_adapter(options: Mapping[str, Any]) -> PayloadAdapter:
    """The generic adapter; takes no options."""
    if options:
        raise ValueError(f"takes no options (got {', '.join(sorted(options))})")
    return JSONAdapter()


@dataclass(frozen=True)
class Preset:
    """Defaults merged under a hook's own table, and the adapter for its payloads."""

    name: str
    defaults: Mapping[str, Any] = field(default_factory=dict)
    make_adapter: Callable[[Mapping[str, Any]], PayloadAdapter] = json_adapter
    # Merged over `defaults` for `action = "start_phone_call"` (e.g. where the number is).
    phone: Mapping[str, Any] = field(default_factory=dict)

    def defaults_for(self, action: object) -> Mapping[str, Any]:
        """The defaults a hook with `action` starts from."""
        if action == "start_phone_call" and self.phone:
            return merge(self.defaults, self.phone)
        return self.defaults


GENERIC = Preset("generic")


def load_preset(name: str) -> Preset:
    """The preset called `name`; raises `ValueError` naming the choices when unknown."""
    if not NAME.match(name):
        raise ValueError(f"unknown preset {name!r}")
    folder, _, variant = name.partition(".")
    found = entry_points(group=PRESET_ENTRY_POINTS, name=folder)
    if not found:
        raise ValueError(f"unknown preset {name!r}")
    presets: Mapping[str, Preset] = next(iter(found)).load()
    preset = presets.get(variant or "default")
    if preset is None:
        choices = ", ".join(
            folder if key == "default" else f"{folder}.{key}" for key in sorted(presets)
        )
        raise ValueError(f"unknown preset {name!r} (choose from {choices})")
    return preset


def merge(defaults: Mapping[str, Any], table: Mapping[str, Any]) -> dict[str, Any]:
    """The hook's table over the preset's defaults; nested tables merge one level deep.

    An `auth` table naming another scheme replaces the default one instead of merging.
    """
    merged: dict[str, Any] = dict(defaults)
    for key, value in table.items():
        base = merged.get(key)
        same_scheme = not isinstance(value, Mapping) or value.get("scheme") in (
            None,
            base.get("scheme") if isinstance(base, Mapping) else None,
        )
        if isinstance(base, Mapping) and isinstance(value, Mapping) and same_scheme:
            merged[key] = {**base, **value}
        else:
            merged[key] = value
    return merged
