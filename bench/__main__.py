"""`make bench` / `python -m bench`: run every benchmark, print one table, write results.json.

A benchmark is a module `bench/<name>.py` with `run() -> list[dict]`, each dict holding
`name`, `value`, `unit` and `compared_with` (what the number should be read against). A
module that fails is reported as a row and does not stop the others. `python -m bench join`
runs only the named modules. `python -m bench --quick` runs every benchmark briefly (seconds,
no figures kept, exit 1 if one fails): `make test` runs it so the benchmarks cannot rot.
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import platform
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
RESULTS = HERE / "results.json"
FIELDS = ("name", "value", "unit", "compared_with")


def discover() -> list[str]:
    """Every benchmark module's name, sorted."""
    return sorted(
        info.name
        for info in pkgutil.iter_modules([str(HERE)])
        if not info.name.startswith("_") and not info.ispkg
    )


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory_gb = None
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        first = meminfo.read_text().splitlines()[0].split()
        memory_gb = round(int(first[1]) / 1024 / 1024, 1)
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": memory_gb,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
    }


def run_module(name: str) -> tuple[list[dict[str, Any]], float]:
    """The rows of one benchmark (or one row saying why it failed) and its wall time."""
    started = time.monotonic()
    try:
        module = importlib.import_module(f"bench.{name}")
        rows = [
            {field: row.get(field) for field in FIELDS} | {"benchmark": name}
            for row in module.run()
        ]
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        rows = [
            {
                "benchmark": name,
                "name": f"{name}: failed",
                "value": None,
                "unit": type(exc).__name__,
                "compared_with": str(exc)[:200],
            }
        ]
    return rows, time.monotonic() - started


def table(rows: list[dict[str, Any]]) -> str:
    """A Markdown table, so the README can show it as it is."""
    header = ["benchmark", "name", "value", "unit", "compared with"]
    lines = [
        "| " + " | ".join(header) + " |",
        "| " + " | ".join("---" for _ in header) + " |",
    ]
    for row in rows:
        value = row["value"]
        shown = f"{value:.4g}" if isinstance(value, float) else ("-" if value is None else value)
        unit, compared = row["unit"] or "", row["compared_with"] or ""
        cells = [row["benchmark"], row["name"], shown, unit, compared]
        lines.append("| " + " | ".join(str(cell).replace("|", "/") for cell in cells) + " |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    argv = [arg for arg in argv if arg != "--quick"]
    if quick:
        os.environ["BENCH_QUICK"] = "1"  # before any benchmark (and its children) is imported
    names = argv or discover()
    unknown = sorted(set(names) - set(discover()))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; have {', '.join(discover())}")
        return 2
    rows: list[dict[str, Any]] = []
    timings: dict[str, float] = {}
    for name in names:
        print(f"running {name} …", file=sys.stderr, flush=True)
        module_rows, seconds = run_module(name)
        rows.extend(module_rows)
        timings[name] = round(seconds, 1)
    report = {
        "ran_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "seconds": timings,
        "results": rows,
    }
    if quick:
        failed = [row for row in rows if row["name"].endswith(": failed")]
        for row in failed:
            print(f"{row['benchmark']}: {row['unit']}: {row['compared_with']}")
        took = ", ".join(f"{name} {seconds:g} s" for name, seconds in timings.items())
        print(f"quick bench: {len(names) - len(failed)} of {len(names)} ran ({took})")
        return 1 if failed else 0
    if not argv:  # a partial run does not overwrite the full table
        RESULTS.write_text(json.dumps(report, indent=2, default=str) + "\n")
    m = report["machine"]
    print(table(rows))
    print(
        f"\nmachine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB, {m['os']}, "
        f"Python {m['python']}; {report['ran_at']}"
    )
    failed = any(row["name"].endswith(": failed") for row in rows)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
