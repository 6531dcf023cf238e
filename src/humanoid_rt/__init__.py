"""humanoid_rt: a real-time control runtime for full-size humanoid robots.

A C++ loop (``humanoid_rt._core``) runs joint impedance control and the safety
supervisor at 1 kHz or faster over the robot's buses; this package is the
Python side: configs, the :class:`Robot` API, the CLI.

The C++ core is imported lazily so that tools which only read configs (and
their tests) work without the compiled extension.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .config import ConfigError, RobotConfig, bundled_robots, load_config
from .errors import HumanoidRtError
from .supervisor_state import SupervisorState

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "HumanoidRtError",
    "Robot",
    "RobotConfig",
    "RobotState",
    "SafetyRefused",
    "StateView",
    "SupervisorState",
    "bundled_robots",
    "load_config",
]

if TYPE_CHECKING:
    from .robot import Robot, RobotState, SafetyRefused
    from .state_view import StateView


def __getattr__(name: str) -> Any:
    if name in ("Robot", "RobotState", "SafetyRefused"):
        from . import robot

        return getattr(robot, name)
    if name == "StateView":
        from .state_view import StateView

        return StateView
    raise AttributeError(f"module 'humanoid_rt' has no attribute {name!r}")
