"""An import inside a function says why it is there: start-up speed or an optional
dependency, never an import cycle (a cycle is fixed where it is, see the layers contract)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("gateway", "integrations")
REASONS = ("start-up speed", "optional dependency")


def _unexplained(path: Path) -> list[str]:
    """`line: import` for each run of function-level imports no reason is given for (in a
    comment on the line before the run, or at the end of its first line)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found: set[str] = set()
    for fn in ast.walk(ast.parse("\n".join(lines))):
        if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for block in ast.walk(fn):
            body = getattr(block, "body", None)
            if not isinstance(body, list):
                continue
            previous_was_import = False
            for node in body:
                is_import = isinstance(node, ast.Import | ast.ImportFrom)
                if is_import and not previous_was_import:
                    said = lines[node.lineno - 2] + lines[node.lineno - 1].partition("#")[2]
                    if not any(reason in said.lower() for reason in REASONS):
                        found.add(f"{node.lineno}: {lines[node.lineno - 1].strip()}")
                previous_was_import = is_import
    return sorted(found)


def test_every_import_in_a_function_says_why() -> None:
    offenders = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            offenders += [f"{name}:{found}" for found in _unexplained(path)]
    assert offenders == [], (
        "import at module level, or say: lazily (start-up speed) / (optional dependency)"
    )


def test_the_rule_sees_an_unexplained_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "def a():\n"
        "    # Lazily (start-up speed): the app.\n"
        "    from x import y\n"
        "    from x import z\n"
        "\n"
        "def b():\n"
        "    from x import y\n"
        "\n"
        "def c():\n"
        "    import json  # lazily (optional dependency)\n"
    )
    assert _unexplained(module) == ["7: from x import y"]
