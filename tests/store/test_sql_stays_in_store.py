"""Every SQL statement is built behind a repository: only the store (and the one module over
slack_sdk's tables, and migrations) import SQLAlchemy to build one.

Elsewhere SQLAlchemy may be named for three things only, none of which builds a statement:
the session type a unit of work is passed around as, its errors, and its URL parser.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("gateway", "integrations")
# Where statements are built: the store, Slack's installation tables (slack_sdk's store, which
# the core's store never names), and Alembic migrations.
SQL_HOMES = ("gateway/store/", "integrations/slack/installations.py")
ALLOWED = {
    "sqlalchemy.ext.asyncio": {"AsyncSession"},  # the unit of work's type
    "sqlalchemy": {"exc"},  # errors, to answer them
    "sqlalchemy.exc": None,  # any error class
    "sqlalchemy.engine": {"make_url"},  # parsing DATABASE_URL
}


def _sql_imports(path: Path) -> list[str]:
    """`line: import` for each SQLAlchemy import of `path` that the rules above do not allow."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [
                f"{node.lineno}: import {a.name}"
                for a in node.names
                if a.name.split(".")[0] == "sqlalchemy"
            ]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "sqlalchemy":
            allowed = ALLOWED.get(node.module or "", set())
            found += [
                f"{node.lineno}: from {node.module} import {a.name}"
                for a in node.names
                if allowed is not None and a.name not in allowed
            ]
    return found


def _outside_the_store() -> Iterator[tuple[str, Path]]:
    """(repository-relative name, path) of every module where no statement may be built."""
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            if not name.startswith(SQL_HOMES) and "/migrations/" not in name:
                yield name, path


def test_no_sqlalchemy_statement_is_built_outside_the_store() -> None:
    offenders = [f"{n}:{found}" for n, path in _outside_the_store() for found in _sql_imports(path)]
    assert offenders == [], "move these queries into a repository in gateway/store/"


def test_the_rule_sees_a_statement_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "import sqlalchemy as sa\n"
        "from sqlalchemy import select, exc\n"
        "from sqlalchemy.ext.asyncio import AsyncSession\n"
        "from sqlalchemy.exc import IntegrityError\n"
    )
    assert _sql_imports(module) == [
        "1: import sqlalchemy",
        "2: from sqlalchemy import select",
    ]


# What a session does that is a query or a write of its own (rows changed through their
# attributes, as the state machine does, are fine: a repository found them).
SESSION_CALLS = {"get", "add", "add_all", "delete", "execute", "scalar", "scalars", "merge"}


def _session_queries(path: Path) -> list[str]:
    """`line: session.<method>` for each query a module makes on a session directly."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in SESSION_CALLS
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "session"
        ):
            found.append((node.lineno, f"{node.lineno}: session.{node.func.attr}"))
    return [text for _, text in sorted(found)]


def test_no_session_is_queried_outside_the_store() -> None:
    offenders = [
        f"{n}:{found}" for n, path in _outside_the_store() for found in _session_queries(path)
    ]
    assert offenders == [], "ask a repository in gateway/store/ instead"


def test_the_session_rule_sees_a_direct_query(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "async def f(session, repo):\n"
        "    await session.get(Row, 1)\n"
        "    session.add(Row())\n"
        "    await repo.get(1)\n"
        "    await session.commit()\n"
    )
    assert _session_queries(module) == ["2: session.get", "3: session.add"]
