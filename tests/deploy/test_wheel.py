"""The wheel users install: the gateway, its integrations and their data, never a test."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def build_wheel(out: Path) -> Path:
    uv = Path(sys.executable).parent / "uv"
    if not uv.exists() and shutil.which("uv") is None:
        pytest.skip("uv is not installed in this environment")
    command = [str(uv) if uv.exists() else "uv", "build", "--wheel", "--offline", "-o", str(out)]
    done = subprocess.run(
        [*command, str(ROOT)], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    (wheel,) = out.glob("*.whl")
    return wheel


def test_the_wheel_holds_no_tests_and_every_entry_point_target(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        entry_points = next(
            archive.read(n).decode() for n in names if n.endswith(".dist-info/entry_points.txt")
        )
    assert [n for n in names if "tests" in n.split("/")[:-1] or n.startswith("tests/")] == []
    assert [n for n in names if Path(n).name.startswith(("test_", "conftest"))] == []
    assert "gateway/cli/__init__.py" in names
    assert "integrations/slack/migrations/0002_slack_installations.py" in names
    for group in ("integrations", "destinations", "migrations", "hook_presets"):
        assert f"[oneinbox_gateway.{group}]" in entry_points
    # Every entry point names a module the wheel ships.
    for line in entry_points.splitlines():
        if "=" in line and not line.startswith("["):
            module = line.split("=", 1)[1].strip().split(":")[0]
            path = module.replace(".", "/")
            assert f"{path}.py" in names or f"{path}/__init__.py" in names, line
