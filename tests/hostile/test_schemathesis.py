"""schemathesis fuzzes the unauthenticated-facing routes (hooks, OneInbox webhooks) of a live
gateway: no answer may be a 5xx. Bounded examples keep it to seconds."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hostile.rig import BEARER, SECRETS, Rig, hostile_gateway
from tests.hostile.test_bodies import webhook_token

MAX_EXAMPLES = 40


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    """This module's own gateway (JSON logs): the fuzzing leaves rows and lock-outs behind."""
    with hostile_gateway(tmp_path_factory.mktemp("fuzz"), "json") as rig:
        yield rig


def test_schemathesis_finds_no_server_error_on_hooks_and_webhooks(rig: Rig, tmp_path: Path) -> None:
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "run",
        rig.url + "/openapi.json",
        "--checks",
        "not_a_server_error",
        "--include-path-regex",
        "^/(hooks|webhooks)/",
        "--header",
        BEARER["Authorization"].join(("Authorization: ", "")),
        "--header",
        f"X-Gateway-Webhook-Token: {webhook_token()}",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--phases",
        "examples,coverage,fuzzing",
        "--seed",
        "11",
        "--workers",
        "1",
        "--request-timeout",
        "20",
        "--generation-database",
        "none",
        "--no-color",
    ]
    run = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    cases = re.search(r"(\d+) generated", run.stdout)
    assert cases is not None and int(cases.group(1)) > 0, run.stdout[-3000:]
    assert "Authentication failed" not in run.stdout, run.stdout[-3000:]
    print(f"\nschemathesis: {cases.group(1)} cases", file=sys.__stderr__)  # the fuzz figure
    logs = rig.logs()
    for secret in SECRETS:
        assert secret not in run.stdout and secret not in logs
