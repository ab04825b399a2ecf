"""The hooks' rows of `oneinbox-gateway check`: every `*_env` a hook names is set."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from gateway.config import GatewayConfig
from gateway.plugins import CheckRow


def check_hook_secrets(config: GatewayConfig) -> list[CheckRow]:
    """One row per `[hooks.NAME]`: every `*_env` it names is set (values never shown)."""
    rows: list[CheckRow] = []
    for name, table in sorted(config.table("hooks").items()):
        if not isinstance(table, dict):
            continue
        names = sorted(set(_env_names(table)))
        missing = [env for env in names if not os.environ.get(env)]
        if missing:
            rows.append((f"hook {name}", False, f"not set: {', '.join(missing)}"))
        elif names:
            rows.append((f"hook {name}", True, f"secrets present: {', '.join(names)}"))
        else:
            rows.append((f"hook {name}", True, "no secrets named"))
    return rows


def _env_names(value: Any) -> Iterator[str]:
    """Every value of a key ending in `_env`, however deep in tables and arrays."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key.endswith("_env") and isinstance(item, str):
                yield item
            else:
                yield from _env_names(item)
    elif isinstance(value, list):
        for item in value:
            yield from _env_names(item)
