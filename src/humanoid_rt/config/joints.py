"""The `joints:` list: each actuated joint's bus address, transmission, limits, gains and actuator model.

Bus plug-ins may own a per-joint section (CAN: `can:`); it is listed among the joint's keys and
parsed by the plug-in into JointConfig.sections.
"""

from __future__ import annotations

from typing import Any

from ..buses import joint_sections
from .fields import (INVALID, REQUIRED, Nested, Parser, Validator, integer, nonempty_text, number, one_of, optional,
                     position_range)
from .types import BusConfig, JointConfig, JointLimits, MockActuatorConfig

COMMAND_MODES = ("torque", "drive_impedance")
# Fixed joint capacity of the C++ core: its buffers are sized at compile time.
MAX_JOINTS = 64

_DEFAULT_SOFT_MARGIN_RAD = 0.05
_DEFAULT_TORQUE_RATE_NM_S = 20000.0
# Derived defaults (the key absent): the reference reaches its velocity limit in this time
# (acceleration = velocity / time); the torque limit is reached at this position error (kp_max)
# and at this fraction of the velocity limit as velocity error (kd_max).
DEFAULT_ACCELERATION_TIME_S = 0.2
GAIN_BOUND_POSITION_ERROR_RAD = 0.005
GAIN_BOUND_VELOCITY_FRACTION = 0.05
LIMIT_KEYS: dict[str, tuple[Parser, Any]] = {
    "position_rad": (position_range, REQUIRED),
    "soft_margin_rad": (number(at_least=0), _DEFAULT_SOFT_MARGIN_RAD),
    "velocity_rad_s": (number(above=0), REQUIRED),
    "torque_nm": (number(above=0), REQUIRED),
    "torque_rate_nm_s": (number(above=0), _DEFAULT_TORQUE_RATE_NM_S),
    # Absent: derived (see DEFAULT_ACCELERATION_TIME_S and GAIN_BOUND_*).
    "acceleration_rad_s2": (optional(number(above=0), "null or a finite number > 0"), None),
    "kp_max": (optional(number(above=0), "null or a finite number > 0"), None),
    "kd_max": (optional(number(above=0), "null or a finite number > 0"), None),
}

_GAIN_KEYS: dict[str, tuple[Parser, Any]] = {
    "kp": (number(at_least=0), REQUIRED),
    "kd": (number(at_least=0), REQUIRED),
}

MOCK_ACTUATOR_KEYS: dict[str, tuple[Parser, Any]] = {
    "inertia_kgm2": (number(above=0), MockActuatorConfig.inertia),
    "viscous_nm_s_rad": (number(at_least=0), MockActuatorConfig.viscous),
    "coulomb_nm": (number(at_least=0), MockActuatorConfig.coulomb),
}

_COMMON_JOINT_KEYS: dict[str, tuple[Parser | Nested, Any]] = {
    "name": (nonempty_text, REQUIRED),
    "bus": (nonempty_text, REQUIRED),
    "device_id": (integer(0, 65535), REQUIRED),
    "gear": (number(above=0), 1.0),
    "direction": (one_of(1, -1), 1),
    "offset_rad": (number(), 0.0),
    "limits": (Nested("a mapping with keys: " + ", ".join(LIMIT_KEYS)), REQUIRED),
    "gains": (Nested("a mapping with keys: kp, kd"), REQUIRED),
    "mock": (Nested("a mapping with keys: " + ", ".join(MOCK_ACTUATOR_KEYS)), {}),
    "command_mode": (one_of(*COMMAND_MODES), "torque"),
}


_SECTION_KEYS: dict[tuple, tuple[Nested, None]] = {}  # (key, its keys) -> one entry, the same at every call


def joint_keys() -> dict[str, tuple[Parser | Nested, Any]]:
    """The keys a joint takes: the common ones, then the bus plug-ins' sections (absent: None)."""
    keys = dict(_COMMON_JOINT_KEYS)
    for key, plugin in joint_sections().items():
        signature = (key, tuple(plugin.joint_section_keys))
        if signature not in _SECTION_KEYS:
            _SECTION_KEYS[signature] = (Nested("a mapping with keys: " + ", ".join(plugin.joint_section_keys)), None)
        keys[key] = _SECTION_KEYS[signature]
    return keys


def _parse_joint(check: Validator, raw: Any, path: str) -> dict[str, Any]:
    top = check.values(raw, path, joint_keys())
    limits = gains = mock = None
    if top["limits"] is not INVALID:
        parsed = check.values(top["limits"], f"{path}.limits", LIMIT_KEYS)
        limits = _joint_limits(check, parsed, f"{path}.limits")
    if top["gains"] is not INVALID:
        parsed = check.values(top["gains"], f"{path}.gains", _GAIN_KEYS)
        gains = None if INVALID in parsed.values() else parsed
    if top["mock"] is not INVALID:
        parsed = check.values(top["mock"], f"{path}.mock", MOCK_ACTUATOR_KEYS)
        if INVALID not in parsed.values():
            mock = MockActuatorConfig(parsed["inertia_kgm2"], parsed["viscous_nm_s_rad"], parsed["coulomb_nm"])
    top.update(limits=limits, gains=gains, mock=mock)
    for key, plugin in joint_sections().items():
        if top[key] is not None and top[key] is not INVALID:
            top[key] = plugin.parse_joint_section(check, top[key], f"{path}.{key}", top["device_id"])
    return top


def _joint_limits(check: Validator, parsed: dict[str, Any], path: str) -> JointLimits | None:
    position, margin = parsed["position_rad"], parsed["soft_margin_rad"]
    if position is not INVALID and margin is not INVALID:
        half_span = (position[1] - position[0]) / 2.0
        if not margin < half_span:
            check.report(
                f"{path}.soft_margin_rad", "leaves no soft range between the hard limits",
                f"a finite number >= 0 and < (max - min) / 2 = {half_span:g}", margin,
            )
            return None
    if INVALID in parsed.values():
        return None
    velocity, torque = parsed["velocity_rad_s"], parsed["torque_nm"]
    acceleration, kp_max, kd_max = parsed["acceleration_rad_s2"], parsed["kp_max"], parsed["kd_max"]
    return JointLimits(
        q_min=position[0],
        q_max=position[1],
        soft_margin=margin,
        velocity=velocity,
        torque=torque,
        torque_rate=parsed["torque_rate_nm_s"],
        acceleration=velocity / DEFAULT_ACCELERATION_TIME_S if acceleration is None else acceleration,
        kp_max=torque / GAIN_BOUND_POSITION_ERROR_RAD if kp_max is None else kp_max,
        kd_max=torque / (GAIN_BOUND_VELOCITY_FRACTION * velocity) if kd_max is None else kd_max,
    )


def parse_joints(check: Validator, raw: Any, buses: list[BusConfig], bus_list_valid: bool) -> list[JointConfig]:
    joints: list[JointConfig] = []
    known_buses = [bus.name for bus in buses]
    first_index_of: dict[str, int] = {}
    device_owner: dict[tuple[str, int], int] = {}
    for index, raw_joint in enumerate(check.items(raw, "joints", "joint", maximum=MAX_JOINTS)):
        path = f"joints[{index}]"
        parsed = _parse_joint(check, raw_joint, path)
        name, bus, device_id = parsed["name"], parsed["bus"], parsed["device_id"]
        if name is not INVALID:
            if name in first_index_of:
                check.report(
                    f"{path}.name", "duplicate joint name",
                    f"a name not already used (joints[{first_index_of[name]}] is {name!r})", name,
                )
                parsed["name"] = INVALID
            else:
                first_index_of[name] = index
        # If the bus list itself is broken, every joint would report its bus: say it once, at buses.
        if bus is not INVALID and bus_list_valid and bus not in known_buses:
            check.report(f"{path}.bus", "unknown bus", "one of " + ", ".join(known_buses), bus)
            parsed["bus"] = bus = INVALID
        if bus is not INVALID and device_id is not INVALID:
            owner = device_owner.setdefault((bus, device_id), index)
            if owner != index:
                check.report(
                    f"{path}.device_id", f"device_id already used on bus {bus!r} by joints[{owner}]",
                    f"a device_id unique on bus {bus!r}", device_id,
                )
                parsed["device_id"] = INVALID
        if INVALID in parsed.values() or None in (parsed["limits"], parsed["gains"], parsed["mock"]):
            continue
        if not _gains_within_bounds(check, parsed["gains"], parsed["limits"], path):
            continue
        joints.append(
            JointConfig(
                name=parsed["name"],
                bus=parsed["bus"],
                device_id=parsed["device_id"],
                gear=parsed["gear"],
                direction=parsed["direction"],
                offset_rad=parsed["offset_rad"],
                limits=parsed["limits"],
                kp=parsed["gains"]["kp"],
                kd=parsed["gains"]["kd"],
                mock=parsed["mock"],
                command_mode=parsed["command_mode"],
                sections={key: parsed[key] for key in joint_sections() if parsed[key] is not None},
            )
        )
    return joints


def _gains_within_bounds(check: Validator, gains: dict, limits: JointLimits, path: str) -> bool:
    ok = True
    for key, bound in (("kp", limits.kp_max), ("kd", limits.kd_max)):
        if gains[key] > bound:
            check.report(f"{path}.gains.{key}", f"above the joint's {key}_max",
                         f"a number >= 0 and <= {bound:g} (limits.{key}_max)", gains[key])
            ok = False
    return ok

