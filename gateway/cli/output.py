"""How commands print: aligned tables and key/value blocks for people, JSON for scripts.

Every listing command takes `--json`: the same rows as one JSON document on stdout (times
in ISO 8601 UTC, absent values `null`), so `jq` and scripts never parse the tables.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

import typer

# The `--json` option, the same on every command that has one.
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]


def when(value: datetime | None) -> str:
    """A time for a table: `2025-01-31 14:05:09`, or `-`."""
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else "-"


def iso(value: datetime | None) -> str | None:
    """A time for JSON: ISO 8601 in UTC (`2025-01-31T14:05:09Z`), or None."""
    if value is None:
        return None
    text = value.isoformat()
    if value.utcoffset() is None:  # SQLite hands back naive times; the store writes UTC
        return text + "Z"
    return text.replace("+00:00", "Z")


def table(rows: Sequence[Sequence[str]], headers: Sequence[str]) -> str:
    """Columns padded to their widest cell, two spaces apart."""
    widths = [
        max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=False)
    ]
    lines = [headers, *rows]
    return "\n".join(
        "  ".join(
            str(cell).ljust(width) for cell, width in zip(line, widths, strict=False)
        ).rstrip()
        for line in lines
    )


def print_json(document: Any) -> None:
    """One JSON document on stdout."""
    typer.echo(json.dumps(document, indent=2, ensure_ascii=False))
