"""dump_config(): the plain-data form of a loaded config, every default written out."""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from typing import Any

from ..buses import joint_sections
from .devices import dump_device
from .model import EXAMPLE_ROBOT_DATA_PREFIX
from .types import ImuConfig, LoopConfig, RobotConfig, SafetyConfig, StandingConfig

def _plain(section) -> dict[str, Any]:
    """A config dataclass as a mapping, nested dataclasses (model.standing.base_target) as mappings too."""
    return {f.name: _plain(getattr(section, f.name)) if is_dataclass(getattr(section, f.name))
            else getattr(section, f.name) for f in fields(section)}


def dump_config(config: RobotConfig) -> dict[str, Any]:
    """The plain-data form of `config`, with every default written out.

    `load_config(dump_config(config)) == config`; the URDF path is absolute so
    the result loads from any directory.
    """
    return {
        "name": config.name,
        "model": {
            "urdf": (config.model.urdf_source if config.model.urdf_source.startswith(EXAMPLE_ROBOT_DATA_PREFIX)
                     else str(config.urdf_path)),
            "base": config.model.base,
            "tasks": list(config.model.task_frames),
            "gravity_compensation": config.model.gravity_compensation,
            **({"imu": {f.name: getattr(config.model.imu, f.name) for f in fields(ImuConfig)}}
               if config.model.imu is not None else {}),
            **({"contacts": [{"frame": c.frame, "sole": list(c.sole), "offset": list(c.offset)}
                             for c in config.model.contacts]} if config.model.contacts else {}),
            **({"standing": _plain(config.model.standing)} if config.model.standing != StandingConfig() else {}),
        },
        "loop": {f.name: getattr(config.loop, f.name) for f in fields(LoopConfig)},
        "safety": {f.name: getattr(config.safety, f.name) for f in fields(SafetyConfig)},
        "buses": [{"name": bus.name, "type": bus.type, **bus.params} for bus in config.buses],
        "joints": [
            {
                "name": joint.name,
                "bus": joint.bus,
                "device_id": joint.device_id,
                "gear": joint.gear,
                "direction": joint.direction,
                "offset_rad": joint.offset_rad,
                "limits": {
                    "position_rad": [joint.limits.q_min, joint.limits.q_max],
                    "soft_margin_rad": joint.limits.soft_margin,
                    "velocity_rad_s": joint.limits.velocity,
                    "torque_nm": joint.limits.torque,
                    "torque_rate_nm_s": joint.limits.torque_rate,
                    "acceleration_rad_s2": joint.limits.acceleration,
                    "kp_max": joint.limits.kp_max,
                    "kd_max": joint.limits.kd_max,
                },
                "gains": {"kp": joint.kp, "kd": joint.kd},
                "command_mode": joint.command_mode,
                "mock": {
                    "inertia_kgm2": joint.mock.inertia,
                    "viscous_nm_s_rad": joint.mock.viscous,
                    "coulomb_nm": joint.mock.coulomb,
                },
                **{key: plugin.dump_joint_section(joint.sections[key])
                   for key, plugin in joint_sections().items() if key in joint.sections},
            }
            for joint in config.joints
        ],
        **({"devices": [dump_device(device) for device in config.devices]} if config.devices else {}),
        **({"floating_base": _dump_floating_base(config.floating_base)} if config.floating_base is not None else {}),
    }


def _dump_floating_base(section) -> dict[str, Any]:
    from ..standing_config import dump_floating_base_section

    return dump_floating_base_section(section)
