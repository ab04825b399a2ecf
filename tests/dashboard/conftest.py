"""Dashboard tests run against a real gateway on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.admin.rig import AdminRig, admin_rig


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[AdminRig]:
    with admin_rig(tmp_path) as running:
        yield running
