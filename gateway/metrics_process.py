"""Metrics across worker processes: `serve --workers N` and prometheus_client's
multiprocess mode.

`serve` prepares a directory (`prepare_multiprocess_dir`) and names it in
`PROMETHEUS_MULTIPROC_DIR` before uvicorn starts the workers, so each worker's counters
and histograms live in files there and a scrape answered by any worker adds them all up
(a worker that died keeps its counts: totals never go backwards). `serve` removes the
directory when it exits. Process metrics (`process_*`) are summed over the live workers.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from prometheus_client import ProcessCollector, values
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_DB_FILE = re.compile(r"^[a-z]+_(\d+)\.db$")
# How the per-process values of each process metric combine into one for the instance.
_SUM = {"process_cpu_seconds_total", "process_resident_memory_bytes"}
_SUM |= {"process_virtual_memory_bytes", "process_open_fds"}
_MIN = {"process_start_time_seconds"}


def multiprocess_mode() -> bool:
    """True when this process writes its metrics to the multiprocess directory (the mode
    prometheus_client chose when it was imported, from `PROMETHEUS_MULTIPROC_DIR`)."""
    return values.ValueClass is not values.MutexValue


def prepare_multiprocess_dir() -> tuple[Path, bool]:
    """The directory for the workers' metric files, emptied; `(path, created)`.

    An operator's `PROMETHEUS_MULTIPROC_DIR` is used (and emptied of metric files left by
    an earlier run, which would otherwise be counted again); otherwise a fresh temporary
    directory is made. Sets the variable for the workers.
    """
    given = os.environ.get(MULTIPROC_ENV)
    if given:
        path = Path(given)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()
        created = False
    else:
        path = Path(tempfile.mkdtemp(prefix="oneinbox-gateway-metrics-"))
        created = True
    os.environ[MULTIPROC_ENV] = str(path)
    return path, created


def remove_multiprocess_dir(path: Path, created: bool) -> None:
    """Remove what `prepare_multiprocess_dir` made (or only the metric files in an
    operator's directory)."""
    if created:
        shutil.rmtree(path, ignore_errors=True)
        return
    for stale in path.glob("*.db"):
        stale.unlink(missing_ok=True)


def worker_pids(path: Path) -> list[int]:
    """The live processes that wrote metric files in `path`."""
    pids = {int(m.group(1)) for f in path.iterdir() if (m := _DB_FILE.match(f.name))}
    return sorted(pid for pid in pids if Path(f"/proc/{pid}").exists())


def _fixed(pid: int) -> Callable[[], int]:
    return lambda: pid


class WorkerProcesses(Collector):
    """`process_*` of every live worker, combined (CPU and memory summed, the earliest start),
    and `gateway_worker_processes`, how many are alive."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def collect(self) -> Iterator[Metric]:
        pids = worker_pids(self.path)
        combined: dict[str, tuple[Metric, float]] = {}
        for pid in pids:
            for family in ProcessCollector(pid=_fixed(pid), registry=None).collect():
                for sample in family.samples:
                    if sample.name not in _SUM | _MIN:
                        continue
                    value = sample.value
                    if sample.name in combined:
                        seen = combined[sample.name][1]
                        value = seen + value if sample.name in _SUM else min(seen, value)
                    combined[sample.name] = (family, value)
        for name, (family, value) in sorted(combined.items()):
            if family.type == "counter":
                yield CounterMetricFamily(family.name, family.documentation, value=value)
            else:
                yield GaugeMetricFamily(name, family.documentation, value=value)
        yield GaugeMetricFamily(
            "gateway_worker_processes", "Live worker processes of this instance.", value=len(pids)
        )
