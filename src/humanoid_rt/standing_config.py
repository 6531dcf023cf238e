"""The `floating_base:` section of a robot config (issue 13): fall detection, the protective fall
behaviour and the stops that keep a standing robot up, per robot.

    floating_base:
      fall:
        enabled: true
        tilt_rad: 0.6              # base tilt beyond which the robot is falling
        com_margin_m: 0.03         # CoM projection this far outside the support polygon ...
        com_cycles: 50             # ... for this many consecutive cycles
        contact_loss_cycles: 30    # every foot off the ground this long, while contact is expected
        foot_clearance_m: 0.05     # a foot this close to the ground still counts in the support polygon
        protect_time_s: 3.0        # damped, arms tucked, torque on this long, then STO
        tuck: {left_elbow: 1.2}    # joint -> angle the arms are pulled to while falling [rad]
        tuck_stiffness_fraction: 0.2   # of the joint's kp
      stops:
        crouch: {left_knee: 0.6}   # the crouch posture; joints not named hold where they are
        crouch_velocity_fraction: 0.2  # of each joint's velocity and acceleration limit
        min_duration_s: 0.5
        settle_s: 0.3
        support_height_m: 0.0      # base height at/below which a crouched robot is down (0: confirm only)
        causes: {estop_requested: crouch, over_temperature: damp}   # crouch | damp | torque_off

Everything is optional; the defaults are in the dataclasses and DEFAULT_CAUSES (README "Stops for a
standing robot"). Every problem is reported with its field and the allowed values, all at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

__all__ = ["FallConfig", "StandingStopsConfig", "FloatingBaseSafetyConfig", "DEFAULT_CAUSES", "STOP_KINDS",
           "parse_floating_base_section", "dump_floating_base_section"]

STOP_KINDS = ("crouch", "damp", "torque_off")

#: Causes after which the drives cannot be trusted: only torque_off is possible.
TORQUE_OFF_ONLY = ("bus_timeout", "bus_error", "missed_replies", "drive_fault", "non_finite_measurement",
                   "encoder_jump", "encoder_frozen")
#: Causes that lead to DAMPING (not a latch): the stop brakes or crouches, never cuts torque at once.
DAMPING_CAUSES = ("disable_requested", "hold_timeout", "hold_window_left", "overspeed", "shutdown")

#: The default stop per cause of a floating robot: crouch where the drives still work, damp where the
#: controller's own output or speed is in doubt, torque off only where the drives cannot be trusted.
DEFAULT_CAUSES: dict[str, str] = {
    "estop_requested": "crouch",
    "disable_requested": "crouch",
    "hold_timeout": "crouch",       # the watchdog: the stream lapsed, HOLD, then this stop
    "hold_window_left": "crouch",
    "over_temperature": "crouch",
    "hard_position_limit": "crouch",
    "recovery_failed": "crouch",
    "imu_stale": "crouch",          # joint-space: the crouch needs no IMU
    "overspeed": "damp",
    "shutdown": "damp",             # closing the runtime: put the robot on a support first
    "non_finite_command": "damp",   # the controller produced NaN: do not track its references
    **{cause: "torque_off" for cause in TORQUE_OFF_ONLY},
}


@dataclass(frozen=True)
class FallConfig:
    enabled: bool = True
    tilt_rad: float = 0.6
    com_margin_m: float = 0.03
    com_cycles: int = 50
    contact_loss_cycles: int = 30
    foot_clearance_m: float = 0.05
    protect_time_s: float = 3.0
    tuck: tuple[tuple[str, float], ...] = ()
    tuck_stiffness_fraction: float = 0.2


@dataclass(frozen=True)
class StandingStopsConfig:
    crouch: tuple[tuple[str, float], ...] = ()
    crouch_velocity_fraction: float = 0.2
    min_duration_s: float = 0.5
    settle_s: float = 0.3
    support_height_m: float = 0.0
    causes: tuple[tuple[str, str], ...] = tuple(sorted(DEFAULT_CAUSES.items()))  # (cause, kind), by cause

    def cause(self, reason: str) -> str:
        return dict(self.causes).get(reason, "torque_off")


@dataclass(frozen=True)
class FloatingBaseSafetyConfig:
    fall: FallConfig = field(default_factory=FallConfig)
    stops: StandingStopsConfig = field(default_factory=StandingStopsConfig)


def _number(low: float, high: float, *, low_open: bool = False, integer: bool = False):
    bracket = "(" if low_open else "["
    allowed = (f"an integer in {int(low)}..{int(high)}" if integer else f"a number in {bracket}{low:g}, {high:g}]")

    def parse(raw: Any):
        if isinstance(raw, bool) or not isinstance(raw, (int, float)) or (integer and not float(raw).is_integer()):
            raise ValueError("wrong type", allowed)
        value = float(raw)
        if not math.isfinite(value) or value > high or value < low or (low_open and value == low):
            raise ValueError("out of range", allowed)
        return int(value) if integer else value
    return parse


def _boolean(raw: Any) -> bool:
    if not isinstance(raw, bool):
        raise ValueError("wrong type", "true or false")
    return raw


_FALL_KEYS = {
    "enabled": _boolean,
    "tilt_rad": _number(0.0, math.pi, low_open=True),
    "com_margin_m": _number(0.0, 1.0),
    "com_cycles": _number(1, 100000, integer=True),
    "contact_loss_cycles": _number(1, 100000, integer=True),
    "foot_clearance_m": _number(0.0, 1.0),
    "protect_time_s": _number(0.0, 60.0, low_open=True),
    "tuck": None,  # a joint -> angle mapping, checked against the joints
    "tuck_stiffness_fraction": _number(0.0, 1.0),
}
_STOPS_KEYS = {
    "crouch": None,
    "crouch_velocity_fraction": _number(0.0, 1.0, low_open=True),
    "min_duration_s": _number(0.0, 60.0),
    "settle_s": _number(0.0, 60.0),
    "support_height_m": _number(0.0, 10.0),
    "causes": None,
}


def _section(check, raw: Any, path: str, keys: Mapping[str, Any]) -> dict:
    values: dict[str, Any] = {}
    if raw is None:
        return values
    if not isinstance(raw, dict):
        check.report(path, "not a mapping", "a mapping with keys: " + ", ".join(keys), raw)
        return values
    for key, value in raw.items():
        if key not in keys:
            check.report(f"{path}.{key}", f"unknown key {key!r}", "keys " + ", ".join(keys), key)
        elif keys[key] is not None:
            try:
                values[key] = keys[key](value)
            except ValueError as error:
                problem, allowed = error.args
                check.report(f"{path}.{key}", problem, allowed, value)
        else:
            values[key] = value
    return values


def _posture(check, raw: Any, path: str, joints: set[str], limits: Mapping[str, tuple[float, float]],
             unparsed: set[str]) -> tuple:
    allowed = "a mapping of joint name -> angle [rad] inside the joint's position limits"
    if not isinstance(raw, dict):
        check.report(path, "not a mapping", allowed, raw)
        return ()
    posture = []
    for name, angle in raw.items():
        if name in unparsed:
            continue  # the joint itself failed to parse: its own problem is reported
        if name not in joints:
            check.report(f"{path}.{name}", "not a joint of this robot", "one of: " + ", ".join(sorted(joints)), name)
            continue
        q_min, q_max = limits[name]
        if isinstance(angle, bool) or not isinstance(angle, (int, float)) or not math.isfinite(angle):
            check.report(f"{path}.{name}", "not a finite number", f"a number in [{q_min:g}, {q_max:g}] [rad]", angle)
        elif not q_min <= angle <= q_max:
            check.report(f"{path}.{name}", "outside the joint's position limits",
                         f"a number in [{q_min:g}, {q_max:g}] [rad]", angle)
        else:
            posture.append((name, float(angle)))
    return tuple(sorted(posture))  # by joint name: the value does not depend on the mapping's order


def _causes(check, raw: Any, path: str) -> tuple:
    causes = dict(DEFAULT_CAUSES)
    if not isinstance(raw, dict):
        check.report(path, "not a mapping", "a mapping of stop cause -> " + " | ".join(STOP_KINDS), raw)
        return tuple(causes.items())
    for cause, kind in raw.items():
        if cause not in DEFAULT_CAUSES:
            check.report(f"{path}.{cause}", "not a stop cause", "one of: " + ", ".join(DEFAULT_CAUSES), cause)
        elif cause in TORQUE_OFF_ONLY and kind != "torque_off":
            check.report(f"{path}.{cause}", "the drives cannot be trusted after this cause", "torque_off", kind)
        elif cause in DAMPING_CAUSES and kind not in ("crouch", "damp"):
            check.report(f"{path}.{cause}", "this cause brakes (DAMPING), it never cuts torque at once",
                         "crouch, damp", kind)
        elif kind not in STOP_KINDS:
            check.report(f"{path}.{cause}", "not a stop kind", ", ".join(STOP_KINDS), kind)
        else:
            causes[cause] = kind
    return tuple(sorted(causes.items()))


def parse_floating_base_section(check, raw: Any, joints, raw_joints: Any = ()) -> FloatingBaseSafetyConfig | None:
    """The parsed section (None when absent); problems go to `check` (config.fields.Validator). raw_joints: the
    config's joint list as written (joints that failed to parse are not reported again here)."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        check.report("floating_base", "not a mapping", "a mapping with keys: fall, stops", raw)
        return None
    for key in raw:
        if key not in ("fall", "stops"):
            check.report(f"floating_base.{key}", f"unknown key {key!r}", "keys fall, stops", key)
    names = {joint.name for joint in joints}
    limits = {joint.name: (joint.limits.q_min, joint.limits.q_max) for joint in joints}
    written = {j.get("name") for j in raw_joints if isinstance(j, dict)} if isinstance(raw_joints, list) else set()
    unparsed = {name for name in written if isinstance(name, str)} - names
    fall = _section(check, raw.get("fall"), "floating_base.fall", _FALL_KEYS)
    if "tuck" in fall:
        fall["tuck"] = _posture(check, fall["tuck"], "floating_base.fall.tuck", names, limits, unparsed)
    stops = _section(check, raw.get("stops"), "floating_base.stops", _STOPS_KEYS)
    if "crouch" in stops:
        stops["crouch"] = _posture(check, stops["crouch"], "floating_base.stops.crouch", names, limits, unparsed)
    if "causes" in stops:
        stops["causes"] = _causes(check, stops["causes"], "floating_base.stops.causes")
    return FloatingBaseSafetyConfig(fall=FallConfig(**fall), stops=StandingStopsConfig(**stops))


def dump_floating_base_section(section: FloatingBaseSafetyConfig) -> dict:
    fall, stops = section.fall, section.stops
    return {
        "fall": {"enabled": fall.enabled, "tilt_rad": fall.tilt_rad, "com_margin_m": fall.com_margin_m,
                 "com_cycles": fall.com_cycles, "contact_loss_cycles": fall.contact_loss_cycles,
                 "foot_clearance_m": fall.foot_clearance_m,
                 "protect_time_s": fall.protect_time_s, "tuck": dict(fall.tuck),
                 "tuck_stiffness_fraction": fall.tuck_stiffness_fraction},
        "stops": {"crouch": dict(stops.crouch), "crouch_velocity_fraction": stops.crouch_velocity_fraction,
                  "min_duration_s": stops.min_duration_s, "settle_s": stops.settle_s,
                  "support_height_m": stops.support_height_m, "causes": dict(stops.causes)},
    }
