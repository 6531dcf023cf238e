"""The document's top level: name, model, loop, safety, buses, joints, devices; parse_robot() walks it."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from ..buses import bus_types, plugin_for, plugins
from .devices import parse_devices
from .fields import (INVALID, REQUIRED, Invalid, Nested, Parser, Validator, allowing, boolean, fraction, integer,
                     nonempty_text, number, one_of, optional)
from .joints import MAX_JOINTS, parse_joints
from .model import MODEL_KEYS, parse_model
from .types import BusConfig, JointConfig, LoopConfig, RobotConfig, SafetyConfig

LOOP_RATES_HZ = (250, 500, 1000, 2000, 4000)
ROOT_FIELD = "<root>"

_CONTROL_BUDGET_ALLOWED = "null (a third of the period) or a number of microseconds in (0, 1e6]"


@allowing(_CONTROL_BUDGET_ALLOWED)
def _control_budget_us(raw: Any) -> float | None:
    value = optional(number(above=0), _CONTROL_BUDGET_ALLOWED)(raw)
    if value is not None and value > 1e6:
        raise Invalid("out of range", _CONTROL_BUDGET_ALLOWED)
    return value


_LOOP_KEYS: dict[str, tuple[Parser, Any]] = {
    "rate_hz": (one_of(*LOOP_RATES_HZ), LoopConfig.rate_hz),
    "priority": (integer(0, 99), LoopConfig.priority),  # 0 = no SCHED_FIFO (SCHED_OTHER)
    "cpu": (optional(integer(0), "null or an integer >= 0"), LoopConfig.cpu),
    "lock_memory": (boolean, LoopConfig.lock_memory),
    "telemetry_decimation": (integer(1), LoopConfig.telemetry_decimation),
    "control_budget_us": (_control_budget_us, LoopConfig.control_budget_us),
}

_SAFETY_KEYS: dict[str, tuple[Parser, Any]] = {
    "watchdog_ttl_s": (number(above=0), SafetyConfig.watchdog_ttl_s),
    "hold_timeout_s": (number(above=0), SafetyConfig.hold_timeout_s),
    "hold_window_rad": (number(above=0), SafetyConfig.hold_window_rad),
    "damping_time_s": (number(above=0), SafetyConfig.damping_time_s),
    "enable_ramp_s": (number(at_least=0), SafetyConfig.enable_ramp_s),
    "max_missed_replies": (integer(0), SafetyConfig.max_missed_replies),
    "encoder_jump_rad": (number(above=0), SafetyConfig.encoder_jump_rad),
    "frozen_encoder_cycles": (integer(2), SafetyConfig.frozen_encoder_cycles),
    "frozen_torque_nm": (number(above=0), SafetyConfig.frozen_torque_nm),
    "overspeed_factor": (number(at_least=1), SafetyConfig.overspeed_factor),
    "estop_category": (one_of(0, 1), SafetyConfig.estop_category),
    "temperature_limit_c": (number(above=0), SafetyConfig.temperature_limit_c),
    "frozen_travel_rad": (number(above=0), SafetyConfig.frozen_travel_rad),
    "fault_stop_category": (one_of(0, 1), SafetyConfig.fault_stop_category),
    "recovery_velocity_fraction": (fraction, SafetyConfig.recovery_velocity_fraction),
    "recovery_torque_fraction": (fraction, SafetyConfig.recovery_torque_fraction),
    "recovery_timeout_s": (number(above=0), SafetyConfig.recovery_timeout_s),
}

_TOP_KEYS: dict[str, tuple[Parser | Nested, Any]] = {
    "name": (nonempty_text, REQUIRED),
    "model": (Nested("a mapping with keys: " + ", ".join(MODEL_KEYS)), REQUIRED),
    "loop": (Nested("a mapping with keys: " + ", ".join(_LOOP_KEYS)), {}),
    "safety": (Nested("a mapping with keys: " + ", ".join(_SAFETY_KEYS)), {}),
    "buses": (Nested(f"a list of 1..{MAX_JOINTS} bus mappings"), REQUIRED),
    "joints": (Nested(f"a list of 1..{MAX_JOINTS} joint mappings"), REQUIRED),
    "devices": (Nested("a list of device mappings (name, type, url, ...)"), []),
    "floating_base": (Nested("a mapping with keys: fall, stops"), None),  # standing_config.py
}


@functools.cache
def _bus_tables(types: tuple[str, ...]) -> tuple[dict, dict]:
    """Each bus type's keys (from its plug-in), and the keys every bus has."""
    return ({bus_type: plugin_for(bus_type).params[bus_type] for bus_type in types},
            {"name": (nonempty_text, REQUIRED), "type": (one_of(*types), REQUIRED)})


def _parse_buses(check: Validator, raw: Any) -> list[BusConfig]:
    buses: list[BusConfig] = []
    first_index_of: dict[str, int] = {}
    for index, raw_bus in enumerate(check.items(raw, "buses", "bus", maximum=MAX_JOINTS)):
        path = f"buses[{index}]"
        if not isinstance(raw_bus, dict):
            check.report(path, "not a mapping", "a mapping with keys: name, type, and the keys of its type", raw_bus)
            continue
        param_tables, common_keys = _bus_tables(bus_types())
        # Missing required params (EtherCAT's interface and identity) are reported by typed() as any key.
        common, params = check.typed(raw_bus, path, common_keys, param_tables)
        name = common["name"]
        if name is not INVALID:
            if name in first_index_of:
                check.report(
                    f"{path}.name", "duplicate bus name",
                    f"a name not already used (buses[{first_index_of[name]}] is {name!r})", name,
                )
            else:
                first_index_of[name] = index
        if INVALID not in common.values() and params is not INVALID and INVALID not in params.values():
            buses.append(BusConfig(name=name, type=common["type"], params=params))
    return buses



def parse_robot(check: Validator, raw: Any, base_dir: Path, source_path: Path | None) -> RobotConfig | None:
    if not isinstance(raw, dict):
        check.report(ROOT_FIELD, "not a mapping", "a mapping with keys: " + ", ".join(_TOP_KEYS), raw)
        return None
    top = check.values(raw, "", _TOP_KEYS)

    model = parse_model(check, top["model"], base_dir) if top["model"] is not INVALID else None

    loop = check.section(top["loop"], "loop", _LOOP_KEYS, LoopConfig)
    safety = check.section(top["safety"], "safety", _SAFETY_KEYS, SafetyConfig)

    buses: list[BusConfig] = []
    bus_list_valid = False
    if top["buses"] is not INVALID:
        issues_before = len(check.issues)
        buses = _parse_buses(check, top["buses"])
        bus_list_valid = len(check.issues) == issues_before
        if bus_list_valid:
            for plugin in plugins():
                plugin.check_buses(check, buses)

    joints: list[JointConfig] = []
    if top["joints"] is not INVALID:
        joints = parse_joints(check, top["joints"], buses, bus_list_valid)

    # Plug-ins' cross-checks (CAN: ranges and bus load; MuJoCo: a floating twin needs an IMU and feet),
    # on the joints that parsed.
    for plugin in plugins():
        plugin.check_config(check, model=model, loop=loop, safety=safety, buses=buses, joints=joints)
    devices = parse_devices(check, top["devices"]) if top["devices"] is not INVALID else []
    from ..standing_config import parse_floating_base_section  # floating base (issue 13)

    floating_base = parse_floating_base_section(check, top["floating_base"], joints, top["joints"])
    if check.issues:
        return None
    return RobotConfig(
        name=top["name"],
        source_path=source_path,
        model=model,
        loop=loop,
        safety=safety,
        buses=tuple(buses),
        joints=tuple(joints),
        devices=tuple(devices),
        floating_base=floating_base,
    )

