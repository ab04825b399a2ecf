"""`serve --workers 2` on PostgreSQL: whichever worker answers a scrape, `/metrics` shows the
totals of both (prometheus_client's multiprocess mode), process metrics of both, no
`_created` series; `serve` empties the metrics directory when it stops."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from tests.calls.harness import create_agent, hook_toml, remote_env, simulator_process
from tests.support.servers import GatewayProcess, wait_until

pytestmark = pytest.mark.postgres

READYZ = ("gateway_http_requests_total", "GET", "/readyz", "200")


def scrape(url: str) -> tuple[str, dict[tuple[str, ...], float]]:
    """One scrape on a fresh connection (so either worker may answer it)."""
    text = httpx.get(url + "/metrics", timeout=10).text
    samples = {
        (s.name, *s.labels.values()): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    return text, samples


def readyz_by_worker(metrics_dir: Path) -> dict[str, float]:
    """Each worker's own count of answered /readyz, from its own metric file."""
    found: dict[str, float] = {}
    for path in metrics_dir.glob("counter_*.db"):
        for family in MultiProcessCollector.merge([str(path)], accumulate=True):  # type: ignore[no-untyped-call]
            for s in family.samples:
                if (
                    s.name,
                    s.labels.get("method"),
                    s.labels.get("route"),
                    s.labels.get("status"),
                ) == READYZ:
                    found[path.stem] = s.value
    return found


@pytest.fixture
def two_workers(
    tmp_path: Path, gateway_env: dict[str, str], postgres_url: str
) -> Iterator[tuple[GatewayProcess, Path]]:
    sim = simulator_process(tmp_path).start(ready_path="/")
    metrics_dir = tmp_path / "metrics"
    gateway: GatewayProcess | None = None
    try:
        config = tmp_path / "gateway.toml"
        config.write_text(hook_toml(agent=create_agent(sim.url), callbacks=[]))
        env = remote_env(
            {
                **gateway_env,
                "DATABASE_URL": postgres_url,
                "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
            },
            sim_url=sim.url,
            config_path=config,
            secrets={},
        )
        gateway = GatewayProcess(env, log_path=tmp_path / "gateway.log")
        gateway.args += ["--workers", "2"]
        metrics_dir.mkdir()
        (metrics_dir / "counter_1.db").write_bytes(b"left over from an earlier run")
        gateway.start(timeout=90)
        yield gateway, metrics_dir
    finally:
        if gateway is not None:
            gateway.stop()
        sim.stop()


@pytest.mark.timeout(120)
def test_two_workers_report_one_total_process_metrics_and_no_created_series(
    two_workers: tuple[GatewayProcess, Path],
) -> None:
    gateway, metrics_dir = two_workers
    assert not (metrics_dir / "counter_1.db").exists()  # an earlier run's files are not counted
    wait_until(
        lambda: scrape(gateway.url)[1].get(("gateway_worker_processes",)) == 2,
        timeout=30,
        what="both workers",
    )
    wait_until(
        lambda: scrape(gateway.url)[1].get(("gateway_workers_serving",)) == 2,
        timeout=30,
        what="both workers serving",
    )
    sent = 0
    # Fresh connections until both workers have answered some (the kernel picks the worker).
    while len([n for n in readyz_by_worker(metrics_dir).values() if n > 0]) < 2 and sent < 400:
        for _ in range(10):
            assert httpx.get(gateway.url + "/readyz", timeout=10).status_code == 200
            sent += 1
    # A worker counts a request once its answer has gone out (the middleware's last step), so
    # the client may look a moment before the last count lands: wait for it, then compare.
    per_worker = wait_until(
        lambda: (
            (counts := readyz_by_worker(metrics_dir)) and sum(counts.values()) >= sent and counts
        ),
        timeout=10,
        what=f"{sent} requests counted",
    )
    assert len([n for n in per_worker.values() if n > 0]) == 2, per_worker
    assert sum(per_worker.values()) == sent

    for _ in range(6):  # whichever worker answers, it reports both workers' requests
        text, samples = scrape(gateway.url)
        assert samples[("gateway_http_requests_total", "GET", "/readyz", "200")] == sent
        assert samples[("process_resident_memory_bytes",)] > 0
        assert samples[("process_cpu_seconds_total",)] > 0
        assert samples[("gateway_worker_processes",)] == 2
        assert "_created" not in text
        assert ("gateway_calls", "started") not in samples or samples[
            ("gateway_calls", "started")
        ] >= 0

    gateway.stop()
    assert list(metrics_dir.glob("*.db")) == []  # serve cleaned up after its workers
