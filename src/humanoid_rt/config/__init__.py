"""Robot configuration: load, validate and dump the robot YAML.

A robot YAML describes the control loop, the safety thresholds, the buses and every actuated
joint. Validation is strict because the values end up in the real-time core, where a typo becomes
a torque: unknown keys, wrong types, non-finite numbers and out-of-range values are all rejected,
and every problem in a file is reported at once rather than one per run, each naming its field and
the allowed values.

The package: `types` (the frozen config objects and ConfigError), `fields` (parsers and the
validator, shared with the bus plug-ins), `schema` (top level, loop, safety, buses), `model`,
`joints`, `devices`, `loading` (YAML and bundled robots) and `dump`. Each bus family's section
(its bus keys, per-joint section and cross-checks) lives with its plug-in (humanoid_rt.buses).
"""

from __future__ import annotations

from typing import Any

# Re-exported: every name `from humanoid_rt.config import ...` took before the package split.
from .devices import DEVICE_TYPES, MAX_DEVICES  # noqa: F401
from .dump import dump_config
from .joints import (COMMAND_MODES, DEFAULT_ACCELERATION_TIME_S, GAIN_BOUND_POSITION_ERROR_RAD,
                     GAIN_BOUND_VELOCITY_FRACTION, MAX_JOINTS)
from .loading import bundled_robots, load_config
from .model import (BASE_TYPES, EXAMPLE_ROBOT_DATA_PREFIX, IMU_SOURCES, MAX_CONTACTS, MAX_TASKS, QP_SOLVERS,
                    STANDING_CONTROLLERS, example_robot_data_dir)
from .schema import LOOP_RATES_HZ
from .types import (BusConfig, ConfigError, ConfigIssue, ContactConfig, DeviceConfig, ImuConfig, JointConfig,
                    JointLimits, LoopConfig, MockActuatorConfig, ModelConfig, RobotConfig, SafetyConfig,
                    StandingConfig, BaseTargetLimits)

__all__ = [
    "BUS_TYPES",
    "LOOP_RATES_HZ",
    "MAX_JOINTS",
    "BusConfig",
    "CanJointConfig",
    "DEVICE_TYPES",
    "DeviceConfig",
    "ConfigError",
    "ContactConfig",
    "STANDING_CONTROLLERS",
    "QP_SOLVERS",
    "StandingConfig",
    "BaseTargetLimits",
    "ImuConfig",
    "ConfigIssue",
    "JointConfig",
    "JointLimits",
    "LoopConfig",
    "MockActuatorConfig",
    "RobotConfig",
    "SafetyConfig",
    "bundled_robots",
    "dump_config",
    "load_config",
]


def __getattr__(name: str) -> Any:
    # Names that come from the bus plug-ins, resolved on first use (the plug-ins import this package).
    if name == "BUS_TYPES":
        from ..buses import bus_types

        return bus_types()
    if name == "CanJointConfig":
        from ..can.config import CanJointConfig

        return CanJointConfig
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
