"""Fixtures: a fresh simulator served over real HTTP for each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.simulator.harness import RunningSimulator, running_simulator


@pytest.fixture
def sim() -> Iterator[RunningSimulator]:
    """A simulator with short delays, stopped after the test."""
    with running_simulator(analysis_delay=0.2) as running:
        yield running
