"""`serve` as a real process: the demo curl from the banner works as pasted, and a wrong
hook table stops start-up with one line."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import httpx

from tests.support.servers import free_port, gateway_process, wait_until


def test_the_banner_curl_starts_a_call_whose_result_reaches_the_console(
    tmp_path: Path, gateway_env: dict[str, str]
) -> None:
    log = tmp_path / "gateway.log"
    with gateway_process(gateway_env, log_path=log) as gw:
        line = wait_until(
            lambda: next((x for x in log.read_text().splitlines() if "curl " in x), None),
            timeout=10,
            what="the demo curl in the banner",
        )
        command = shlex.split(line.strip())
        assert command[0] == "curl" and f"{gw.url}/hooks/demo" in command
        answer = json.loads(subprocess.run(command, capture_output=True, check=True).stdout)
        assert answer["status"] == "started" and answer["join_url"].startswith(f"{gw.url}/join/")
        ended = httpx.post(f"{gw.url}/oneinbox-sim/_sim/calls/{answer['call_id']}/end", json={})
        assert ended.status_code < 300, ended.text

        def result_logged() -> bool:
            return any(
                '"call.result"' in x and answer["call_id"] in x
                for x in log.read_text().splitlines()
            )

        wait_until(result_logged, timeout=60, what="the call's result in the console")
        # No log line of the whole run is long: the result line once carried the transcript
        # (2.6 KB for the demo call); it is at debug level, on its own line, now.
        assert max(len(x) for x in log.read_text().splitlines()) < 1024
        token = (Path(gateway_env["DATA_DIR"]) / "demo-hook.token").read_text().strip()
        last_banner_line = [x for x in log.read_text().splitlines() if "curl " in x][-1]
        logs_after_banner = log.read_text().split(last_banner_line, 1)[1]
        assert token not in logs_after_banner


def test_a_wrong_hook_table_stops_serve_with_one_line(
    tmp_path: Path, gateway_env: dict[str, str]
) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text(
        '[hooks.x]\nagent = "a"\nauth = { scheme = "bearer", token_env = "NO_SUCH_TOKEN_ENV" }\n'
    )
    port = free_port()
    done = subprocess.run(
        [sys.executable, "-m", "gateway", "serve", "--port", str(port)],
        env={**gateway_env, "GATEWAY_CONFIG": str(config), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    errors = [x for x in done.stderr.splitlines() if x.startswith("error:")]
    expected = "auth.token_env: environment variable NO_SUCH_TOKEN_ENV is not set"
    assert errors == [f"error: {config}: [hooks.x] {expected}"]
    assert "Traceback" not in done.stderr


def test_the_banner_dial_curl_rings_the_simulator_and_the_result_reaches_the_console(
    tmp_path: Path, gateway_env: dict[str, str]
) -> None:
    log = tmp_path / "gateway.log"
    with gateway_process(gateway_env, log_path=log):
        line = wait_until(
            lambda: next(
                (x for x in log.read_text().splitlines() if "/hooks/demo-dial" in x), None
            ),
            timeout=10,
            what="the dial curl in the banner",
        )
        command = shlex.split(line.strip())
        answer = json.loads(subprocess.run(command, capture_output=True, check=True).stdout)
        assert answer["status"] == "started" and answer["to_number"] == "+14155550123"
        assert "join_url" not in answer

        def result_line() -> str | None:
            return next(
                (
                    x
                    for x in log.read_text().splitlines()
                    if '"call.result"' in x and answer["call_id"] in x
                ),
                None,
            )

        # The simulator answers after 2 s and hangs up 6 s later; the analysis follows.
        logged = json.loads(wait_until(result_line, timeout=60, what="the phone call's result"))
        assert logged["status"] == "completed" and logged["to_number"] == "•••0123"
        after_banner = log.read_text().split(line, 1)[1]
        assert "4155550123" not in after_banner  # numbers are masked in the logs
