"""One gateway per log format per module: every hostile case runs against JSON and console logs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.hostile.rig import Rig, hostile_gateway


@pytest.fixture(scope="module", params=["json", "console"])
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Rig]:
    with hostile_gateway(tmp_path_factory.mktemp("hostile"), request.param) as rig:
        yield rig


@pytest.fixture
def rig(served: Rig, capsys: pytest.CaptureFixture[str]) -> Iterator[Rig]:
    served.capture = capsys
    try:
        yield served
    finally:
        served.capture = None
