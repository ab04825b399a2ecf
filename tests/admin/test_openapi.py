"""`/openapi.json` describes the API truthfully: schemathesis fuzzes a live gateway with it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from gateway.admin.openapi import build_spec
from tests.admin.rig import ADMIN_TOKEN, AdminRig

CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_schema_conformance"
)


def test_the_document_is_openapi_3_1_with_every_admin_route(rig: AdminRig) -> None:
    spec = httpx.get(rig.url + "/openapi.json").json()
    assert spec["openapi"] == "3.1.0"
    paths = spec["paths"]
    for path in (
        "/api/calls",
        "/api/calls/{call_id}",
        "/api/calls/{call_id}/stop",
        "/api/deliveries",
        "/api/deliveries/{delivery_id}/replay",
        "/hooks/{name}",
        "/webhooks/oneinbox",
        "/healthz",
        "/readyz",
        "/metrics",
    ):
        assert path in paths, path
    assert set(paths["/api/calls"]) == {"get", "post"}
    assert spec["components"]["securitySchemes"]["adminToken"]["scheme"] == "bearer"
    assert "StartCallRequest" in spec["components"]["schemas"]


def test_configured_hook_names_are_listed() -> None:
    spec = build_spec(["crm", "hubspot"])
    (name,) = spec["paths"]["/hooks/{name}"]["post"]["parameters"]
    assert name["schema"]["enum"] == ["crm", "hubspot"]


def test_schemathesis_finds_no_server_error_and_no_answer_off_the_schema(
    rig: AdminRig, tmp_path: Path
) -> None:
    rig.start_call()  # so lists and the call page have something to answer with
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "run",
        rig.url + "/openapi.json",
        "--checks",
        CHECKS,
        "--include-path-regex",
        "^/(api|healthz|readyz|metrics)",
        # It POSTs to the URL it is given: generated URLs would reach real hosts.
        "--exclude-path",
        "/api/destinations/test",
        "--header",
        f"Authorization: Bearer {ADMIN_TOKEN}",
        "--max-examples",
        "25",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--seed",
        "1",
        "--workers",
        "1",
        "--request-timeout",
        "10",
        "--generation-database",
        "none",
        "--no-color",
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path),
    ]
    run = subprocess.run(command, capture_output=True, text=True, timeout=150, cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert "No issues found" in run.stdout or "passed" in run.stdout, run.stdout[-3000:]
