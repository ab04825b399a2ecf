"""The command line's start-up: how long `oneinbox-gateway …` takes before it answers.

Each command runs 7 times as a real process (the console script of the project's venv) over
a migrated SQLite store in a temporary folder; the median wall time and the median CPU time
(user + system of the child) are reported. `python -c pass` is the floor. Goals: `--version`
and `--help` < 0.5 s, `calls list` < 1.5 s (before the commands imported lazily, every one of
them took 3-4 s on a quiet machine: the app, slack-bolt, uvicorn and Alembic at start).
Bytecode is cached under a temporary `PYTHONPYCACHEPREFIX`, as an installed package has it;
`--version` and `calls list` are also timed without it (`PYTHONDONTWRITEBYTECODE=1` and no
cache: every module compiled at each start), where what is imported costs the most.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._support import scaled

RUNS = scaled(7, 1)  # a quick run (make test) only checks that it still runs
SCRIPT = Path(sys.executable).with_name("oneinbox-gateway")
COMMANDS: list[tuple[str, list[str], str]] = [
    ("--version", ["--version"], "goal < 0.5 s"),
    ("--help", ["--help"], "goal < 0.5 s"),
    ("calls list", ["calls", "list"], "goal < 1.5 s"),
    ("calls list --json", ["calls", "list", "--json"], "goal < 1.5 s"),
    ("deliveries list", ["deliveries", "list"], "goal < 1.5 s"),
]


def _time(argv: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds of the child, exit code."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, timeout=120, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.returncode


def _median(argv: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    _time(argv, env)  # the first run writes the bytecode cache
    runs = [_time(argv, env) for _ in range(RUNS)]
    return (
        statistics.median(r[0] for r in runs),
        statistics.median(r[1] for r in runs),
        max(r[2] for r in runs),
    )


def run() -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
        env = {
            **os.environ,
            "PYTHONPYCACHEPREFIX": str(Path(tmp) / "pycache"),
            "DATA_DIR": tmp,
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/gateway.db",
        }
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.pop("ONEINBOX_API_KEY", None)
        subprocess.run([str(SCRIPT), "db", "migrate"], env=env, capture_output=True, check=True)
        floor_wall, floor_cpu, _ = _median([sys.executable, "-c", "pass"], env)
        rows: list[dict[str, Any]] = []
        for name, args, goal in COMMANDS:
            wall, cpu, code = _median([str(SCRIPT), *args], env)
            failed = f"; exit {code}" if code else ""
            rows.append(
                {
                    "name": f"oneinbox-gateway {name}: median wall",
                    "value": round(wall, 3),
                    "unit": "s",
                    "compared_with": f"python -c pass {floor_wall:.3f} s; {goal}{failed}",
                }
            )
            rows.append(
                {
                    "name": f"oneinbox-gateway {name}: median CPU",
                    "value": round(cpu, 3),
                    "unit": "s",
                    "compared_with": f"python -c pass {floor_cpu:.3f} s",
                }
            )
        cold = {**env, "PYTHONDONTWRITEBYTECODE": "1"}
        cold.pop("PYTHONPYCACHEPREFIX")
        for name, args in (("--version", ["--version"]), ("calls list", ["calls", "list"])):
            runs = [_time([str(SCRIPT), *args], cold) for _ in range(scaled(3))]
            rows.append(
                {
                    "name": f"oneinbox-gateway {name}, no bytecode cache: median wall",
                    "value": round(statistics.median(r[0] for r in runs), 3),
                    "unit": "s",
                    "compared_with": "the same with bytecode cached (above)",
                }
            )
        return rows
