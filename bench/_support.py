"""What the benchmarks share: wrk runs and child processes on loopback."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

# `python -m bench --quick` (what `make test` runs): every benchmark once, briefly, so none
# rots; the figures of a quick run mean nothing and are not kept.
QUICK = os.environ.get("BENCH_QUICK") == "1"


def scaled(full: int, quick: int = 1) -> int:
    """`full` in a real run, `quick` in a quick one (durations, counts)."""
    return quick if QUICK else full


def run_wrk(
    url: str, script: Path, *, connections: int, seconds: int, threads: int = 2
) -> dict[str, Any]:
    """Run wrk with a Lua script whose `done` prints one `RESULT {json}` line; return that."""
    out = subprocess.run(
        [
            "wrk",
            f"-t{min(threads, connections)}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "5s",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        check=True,
    )
    line = next(x for x in out.stdout.splitlines() if x.startswith("RESULT "))
    data: dict[str, Any] = json.loads(line.removeprefix("RESULT "))
    return data


def start_process(
    argv: list[str], env: dict[str, str], ready_url: str, log: Path
) -> subprocess.Popen[bytes]:
    """Start `argv` (output in `log`); return once `ready_url` answers (90 s at most)."""
    with log.open("ab") as out:
        proc = subprocess.Popen(
            argv,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{argv} exited; see {log}")
        try:
            httpx.get(ready_url, timeout=1)
            return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    stop_process(proc)
    raise RuntimeError(f"{argv} did not start; see {log}")


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if it has not gone within 15 s."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
