"""A faithful local OneInbox API (for tests, demos and local mode); never expose it publicly."""

from gateway.simulator.app import create_simulator_app
from gateway.simulator.config import SimulatorConfig
from gateway.simulator.state import SimulatorState

__all__ = ["SimulatorConfig", "SimulatorState", "create_simulator_app"]
