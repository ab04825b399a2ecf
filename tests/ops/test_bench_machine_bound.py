"""The hooks benchmark's reading of its PostgreSQL scaling goal against what the machine allows."""

from __future__ import annotations

import os

from bench.hooks import _machine_bound


def test_the_bound_is_the_cores_over_every_process_cpu_per_hook_against_one_worker() -> None:
    one = {
        "rps": 800.0,
        "cpu_ms": 1.0,
        "others_ms": {"upstream": 0.3, "postgres": 0.4, "wrk": 0.05},
    }
    two = {
        "rps": 900.0,
        "cpu_ms": 1.2,
        "others_ms": {"upstream": 0.3, "postgres": 0.45, "wrk": 0.05},
    }

    row = _machine_bound(one, two)

    cores = os.cpu_count() or 1
    ceiling = cores * 1000 / 2.0  # 1.2 + 0.3 + 0.45 + 0.05 ms of CPU per hook
    assert row["value"] == round(ceiling / 800.0, 2)
    assert f"{ceiling:.0f} hooks/s at most" in row["compared_with"]
    assert "÷ 1 worker's 800/s" in row["compared_with"]
