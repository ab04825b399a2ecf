"""Logs at info level never carry a transcript: the `log` destination writes the outcome and
the summary at info, and the conversation only at debug."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.logging import configure_logging
from gateway.simulator.transcripts import canned_analysis
from gateway.upstream import LOCAL_API_KEY, SIMULATOR_MOUNT
from tests.support.hooks import gateway
from tests.support.servers import wait_until

SECRET_WORDS = "Zanzibar-7 lighthouse"  # what the customer says; only the transcript has it
SIM = {"Authorization": f"Bearer {LOCAL_API_KEY}"}
HOOK = """
[agents.sales]
create = { first_message = "Hi!" }

[hooks.quiet]
agent = "sales"
auth = { scheme = "none" }
variables = { customer_name = "body.name" }
"""


def run_one_call(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], level: str
) -> list[dict[str, Any]]:
    """Start, join and end a call whose result goes to the `log` destination; its log lines."""
    lines: list[str] = []
    with gateway(tmp_path, HOOK) as gw:
        configure_logging(fmt="json", level=level)
        call_id = gw.post("quiet", json={"name": SECRET_WORDS}).json()["call_id"]
        # A seed whose canned transcript greets the customer by name.
        seed = next(
            s
            for s in range(50)
            if any(
                SECRET_WORDS in m["content"]
                for m in canned_analysis(
                    call_id, seed=s, joined=True, variables={"customer_name": SECRET_WORDS}
                ).messages
            )
        )
        config = f"{gw.url}{SIMULATOR_MOUNT}/_sim/config"
        assert httpx.patch(config, headers=SIM, json={"seed": seed}).status_code == 200
        sim = f"{gw.url}{SIMULATOR_MOUNT}/_sim/calls/{call_id}"
        assert httpx.post(f"{sim}/join", headers=SIM).status_code == 200
        assert httpx.post(f"{sim}/end", headers=SIM, json={"summary": "Short."}).status_code == 200

        def result_logged() -> bool:
            lines.extend(capfd.readouterr().err.splitlines())
            return any('"call.result"' in line for line in lines)

        wait_until(result_logged, timeout=60, what="the call.result log line")
    return [json.loads(line) for line in lines if line.startswith("{")]


def test_info_logs_carry_the_summary_but_never_the_transcript(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    events = run_one_call(tmp_path, capfd, "info")
    (result,) = [e for e in events if e["event"] == "call.result"]
    assert result["summary"] == "Short." and result["turns"] >= 1
    assert "messages" not in result
    assert not [e for e in events if SECRET_WORDS in json.dumps(e)]


def test_debug_logs_carry_the_transcript_for_whoever_asks_for_them(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    events = run_one_call(tmp_path, capfd, "debug")
    (transcript,) = [e for e in events if e["event"] == "call.transcript"]
    assert transcript["level"] == "debug"
    assert any(SECRET_WORDS in m for m in transcript["messages"])
