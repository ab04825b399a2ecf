"""The operator's commands as real processes: start-up imports, `--version`, `--json`, and
clear one-line errors. The store is a real SQLite file, seeded the way the gateway writes it."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from pathlib import Path

import pytest

from gateway.store.database import Database
from gateway.store.tables import CallEventRow, CallRow, DeliveryAttemptRow, DeliveryRow

# What no quick command may load: the app, the web server, slack-bolt, migrations.
HEAVY = ("slack_bolt", "slack_sdk", "uvicorn", "alembic", "gateway.app", "gateway.context")
# `--version` and `--help` need none of the settings or the store either.
NOT_FOR_VERSION = (*HEAVY, "sqlalchemy", "pydantic", "pydantic_settings", "structlog")
NOT_FOR_VERSION += ("starlette", "integrations", "gateway.settings", "gateway.store")

# Runs the console entry point in-process and prints the loaded modules on stdout's last line.
MODULES_AFTER = """
import json, sys
sys.argv = ["oneinbox-gateway", *sys.argv[1:]]
from gateway.cli import main
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)))
"""


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def modules_loaded_by(*args: str, env: dict[str, str]) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", MODULES_AFTER, *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == n or m.startswith(n + ".") for n in names))


def test_version_prints_the_installed_version_and_loads_nothing_heavy(
    gateway_env: dict[str, str],
) -> None:
    done = cli("--version", env=gateway_env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"oneinbox-gateway {version('oneinbox-gateway')}"
    assert loaded(modules_loaded_by("--version", env=gateway_env), NOT_FOR_VERSION) == []
    assert loaded(modules_loaded_by("--help", env=gateway_env), NOT_FOR_VERSION) == []


def test_calls_list_loads_neither_the_app_nor_slack_nor_the_server(
    gateway_env: dict[str, str], migrated: None
) -> None:
    modules = modules_loaded_by("calls", "list", env=gateway_env)
    assert "gateway.store.calls" in modules  # it did read the store
    assert loaded(modules, HEAVY) == []


def test_an_unknown_state_is_one_line_naming_the_valid_states(
    gateway_env: dict[str, str], migrated: None
) -> None:
    done = cli("calls", "list", "--state", "bogus", env=gateway_env)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        "error: --state 'bogus' is not a call state; use one of: started, live, ended, "
        "analyzed, delivered, failed, expired, lost"
    ]
    good = cli("calls", "list", "--state", "delivered", env=gateway_env)
    assert good.returncode == 0, good.stderr


def test_flags_read_as_flags_in_help(gateway_env: dict[str, str]) -> None:
    done = cli("deliveries", "list", "--help", env=gateway_env)
    assert done.returncode == 0
    failed = [line for line in done.stdout.splitlines() if line.strip().startswith("--failed")]
    assert len(failed) == 1 and "<bool>" not in failed[0] and "BOOLEAN" not in failed[0]
    assert "--json" in done.stdout
    assert "<bool>" not in done.stdout


@pytest.fixture
def migrated(gateway_env: dict[str, str]) -> None:
    """The store at the newest schema, migrated in-process as `db migrate` does (which
    tests/deploy/test_db_migrate.py runs as a process): a child's start-up per test bought
    nothing here."""

    async def migrate() -> None:
        db = Database(gateway_env["DATABASE_URL"])
        try:
            await db.migrate()
        finally:
            await db.dispose()

    asyncio.run(migrate())


T0 = datetime(2025, 3, 4, 10, 0, 0, tzinfo=UTC)


async def seed(url: str) -> None:
    """A delivered web call with a callback result, and a phone call whose Slack result
    failed once: as the gateway writes them."""
    db = Database(url)
    try:
        async with db.session() as session:
            session.add_all(
                [
                    CallRow(
                        id="call_web_1",
                        agent_id="agt_1",
                        agent_name="sales",
                        origin_kind="hook",
                        origin_name="crm",
                        state="delivered",
                        upstream_status="completed",
                        result={"outcome": "Interested", "summary": "Ada wants a demo."},
                        created_at=T0,
                        updated_at=T0,
                        ended_at=T0 + timedelta(minutes=2),
                    ),
                    CallRow(
                        id="call_phone_2",
                        agent_id="agt_1",
                        agent_name="sales",
                        origin_kind="slack",
                        origin_name="T1",
                        state="live",
                        call_type="outbound",
                        to_number="+14155550123",
                        created_at=T0 + timedelta(minutes=5),
                        updated_at=T0 + timedelta(minutes=5),
                    ),
                ]
            )
            await session.flush()
            session.add_all(
                [
                    CallEventRow(call_id="call_web_1", to_state="started", at=T0),
                    CallEventRow(
                        call_id="call_web_1",
                        from_state="started",
                        to_state="delivered",
                        detail="all sent",
                        at=T0 + timedelta(minutes=3),
                    ),
                    DeliveryRow(
                        id="msg_ok_1",
                        call_id="call_web_1",
                        destination="callback",
                        destination_key="https://crm.example/hook",
                        config={"url": "https://crm.example/hook?token=s3cr3t"},
                        state="delivered",
                        attempts=1,
                        updated_at=T0 + timedelta(minutes=3),
                    ),
                    DeliveryRow(
                        id="msg_bad_2",
                        call_id="call_phone_2",
                        destination="slack",
                        destination_key="T1/C1",
                        state="pending",
                        attempts=1,
                        last_error="channel_not_found",
                        next_attempt_at=T0 + timedelta(minutes=10),
                        updated_at=T0 + timedelta(minutes=6),
                    ),
                ]
            )
            await session.flush()
            session.add(
                DeliveryAttemptRow(
                    delivery_id="msg_ok_1",
                    at=T0 + timedelta(minutes=3),
                    status_code=204,
                    duration_ms=12,
                    signed_by=["whsec_…abcd"],
                )
            )
    finally:
        await db.dispose()


@pytest.fixture
def seeded(gateway_env: dict[str, str], migrated: None) -> None:
    asyncio.run(seed(gateway_env["DATABASE_URL"]))


def as_json(*args: str, env: dict[str, str]) -> object:
    done = cli(*args, "--json", env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_calls_list_json_holds_what_the_table_shows(
    gateway_env: dict[str, str], seeded: None
) -> None:
    calls = as_json("calls", "list", env=gateway_env)
    assert isinstance(calls, list)
    assert [c["id"] for c in calls] == ["call_phone_2", "call_web_1"]  # newest first
    phone, web = calls
    assert phone["type"] == "outbound" and phone["state"] == "live"
    assert phone["to_number"].endswith("0123") and "415555" not in phone["to_number"]
    assert web["created_at"] == "2025-03-04T10:00:00Z"
    assert web["agent"] == {"id": "agt_1", "name": "sales"}
    assert web["origin"] == {"kind": "hook", "name": "crm"}
    only_live = as_json("calls", "list", "--state", "live", env=gateway_env)
    assert [c["id"] for c in only_live] == ["call_phone_2"]  # type: ignore[union-attr]
    table = cli("calls", "list", env=gateway_env).stdout
    assert "call_web_1" in table and "2025-03-04 10:00:00" in table
    assert "+14155550123" not in table


def test_calls_show_json_has_transitions_deliveries_and_tries(
    gateway_env: dict[str, str], seeded: None
) -> None:
    call = as_json("calls", "show", "call_web_1", env=gateway_env)
    assert isinstance(call, dict)
    assert call["outcome"] == "Interested" and call["summary"] == "Ada wants a demo."
    assert [(t["from"], t["to"]) for t in call["transitions"]] == [
        (None, "started"),
        ("started", "delivered"),
    ]
    (delivery,) = call["deliveries"]
    assert delivery["target"] == "https://crm.example/hook"  # the query's token never shown
    assert delivery["tries"] == [
        {
            "at": "2025-03-04T10:03:00Z",
            "status": 204,
            "duration_ms": 12,
            "error": None,
            "signed_by": ["whsec_…abcd"],
        }
    ]
    text = cli("calls", "show", "call_web_1", env=gateway_env)
    assert "started -> delivered  all sent" in text.stdout
    assert "s3cr3t" not in text.stdout
    unknown = cli("calls", "show", "call_nope", "--json", env=gateway_env)
    assert unknown.returncode == 1 and unknown.stdout == ""
    assert unknown.stderr.strip() == "error: unknown call 'call_nope'"


def test_deliveries_list_json_and_the_failed_flag(
    gateway_env: dict[str, str], seeded: None
) -> None:
    found = as_json("deliveries", "list", env=gateway_env)
    assert [d["id"] for d in found] == ["msg_bad_2", "msg_ok_1"]  # type: ignore[union-attr]
    failed = as_json("deliveries", "list", "--failed", env=gateway_env)
    assert failed == [
        {
            "id": "msg_bad_2",
            "call_id": "call_phone_2",
            "destination": "slack",
            "target": "T1/C1",
            "state": "pending",
            "attempts": 1,
            "next_attempt_at": "2025-03-04T10:10:00Z",
            "signed_by": [],
            "last_error": "channel_not_found",
        }
    ]


def test_check_json_says_ok_per_row_and_keeps_the_exit_code(
    gateway_env: dict[str, str], migrated: None, tmp_path: Path
) -> None:
    report = as_json("check", env=gateway_env)
    assert isinstance(report, dict) and report["ok"] is True
    names = [row["name"] for row in report["checks"]]
    assert names[:3] == ["config", "store", "oneinbox"]
    assert all(row["ok"] for row in report["checks"])
    broken = {**gateway_env, "DATABASE_URL": "postgresql+asyncpg://nobody@127.0.0.1:9/none"}
    done = cli("check", "--json", env=broken)
    assert done.returncode == 1
    failed = json.loads(done.stdout)
    assert failed["ok"] is False
    assert {"name": "store", "ok": False, "detail": "unreachable"} in failed["checks"]
