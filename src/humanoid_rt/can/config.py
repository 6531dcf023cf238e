"""The CAN config sections: bus types `can` (SocketCAN) and `can-virtual` (virtual motors), and each CAN
joint's `can:` mapping (protocol, ids, ranges; CiA 402 units and mode), with their cross-checks:
ranges that hold the joint's limits, one protocol family per bus, and the bus load at the loop rate."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..config.fields import (INVALID, REQUIRED, Parser, Validator, boolean, fraction, integer, nonempty_text, number,
                             one_of, optional)
from ..config.types import BusConfig, JointConfig, LoopConfig, SafetyConfig

CAN_BUS_TYPES = ("can", "can-virtual")

@dataclass(frozen=True)
class CanJointConfig:
    protocol: str  # one of humanoid_rt.can.protocols.PROTOCOLS
    host_id: int  # reference/CubeMars: reply ID; Damiao: master ID; Robstride: host ID
    p_max: float  # rad, symmetric range
    v_max: float  # rad/s
    kp_max: float  # Nm/rad
    kd_max: float  # Nm s/rad
    t_max: float  # Nm
    # CANopen CiA 402 (protocol "cia402"; None otherwise): device_id is the node id.
    counts_per_rad: float | None = None  # encoder counts per motor-side rad (0x607A/0x6064/0x606C units)
    rated_torque_nm: float | None = None  # the drive's 0x6076; 0x6071/0x6077 are per mille of it
    mode: str | None = None  # csp | csv | cst (0x6060 = 8 / 9 / 10)


_CAN_COMMON_KEYS: dict[str, tuple[Parser, Any]] = {
    "fd": (boolean, False),  # CAN-FD frames
    "bitrate": (one_of(125000, 250000, 500000, 1000000), 1000000),  # nominal (arbitration) bit rate
    "data_bitrate": (one_of(1000000, 2000000, 4000000, 5000000, 8000000), 5000000),  # CAN-FD data phase
    "reply_timeout_us": (integer(0, 100000), 0),  # real time; 0 = a quarter of the loop period
    "max_load": (fraction, 0.8),  # the bus-load check rejects joint maps above this
}
BUS_PARAMS = {
    "can": {"interface": (nonempty_text, REQUIRED), **_CAN_COMMON_KEYS},
    "can-virtual": {**_CAN_COMMON_KEYS, "seed": (integer(0, 2**32 - 1), 0)},
}
_CAN_PROTOCOLS = ("mit_reference", "cubemars", "damiao", "robstride", "myactuator", "cia402")
_CIA402_MODES = ("csp", "csv", "cst")
_CIA402_KEYS = ("counts_per_rad", "rated_torque_nm", "mode")
CAN_JOINT_KEYS: dict[str, tuple[Parser, Any]] = {
    "protocol": (one_of(*_CAN_PROTOCOLS), REQUIRED),
    "host_id": (optional(integer(0, 0x7FF), "null or an integer in 0..2047"), None),
    "p_max": (optional(number(above=0), "null or a finite number > 0"), None),
    "v_max": (optional(number(above=0), "null or a finite number > 0"), None),
    "kp_max": (optional(number(above=0), "null or a finite number > 0"), None),
    "kd_max": (optional(number(above=0), "null or a finite number > 0"), None),
    "t_max": (optional(number(above=0), "null or a finite number > 0"), None),
    "counts_per_rad": (optional(number(above=0), "null or a finite number > 0"), None),  # cia402
    "rated_torque_nm": (optional(number(above=0), "null or a finite number > 0"), None),  # cia402
    "mode": (optional(one_of(*_CIA402_MODES), "null or one of " + ", ".join(_CIA402_MODES)), None),  # cia402
}


def dump_can_joint(c: CanJointConfig) -> dict:
    keys = ("protocol",) + _CIA402_KEYS if c.protocol == "cia402" else \
        ("protocol", "host_id", "p_max", "v_max", "kp_max", "kd_max", "t_max")
    return {key: getattr(c, key) for key in keys}


def parse_can_joint(check: Validator, raw: Any, path: str, device_id: Any) -> Any:
    from . import protocols as can_protocols

    parsed = check.values(raw, path, CAN_JOINT_KEYS)
    if INVALID in parsed.values():
        return INVALID
    protocol = parsed["protocol"]
    if protocol == "cia402":  # CANopen: node id, units and mode instead of MIT ranges
        problems = False
        if isinstance(device_id, int) and not 1 <= device_id <= 127:
            check.report(f"{path.rsplit('.', 1)[0]}.device_id", "out of range for protocol cia402 (the CANopen node id)",
                         "an integer in 1..127", device_id)
            problems = True
        for key, allowed in (("counts_per_rad", "a finite number > 0"), ("rated_torque_nm", "a finite number > 0"),
                             ("mode", "one of " + ", ".join(_CIA402_MODES))):
            if parsed[key] is None:
                check.report(f"{path}.{key}", "missing: required for protocol cia402", allowed, None)
                problems = True
        for key in ("host_id", "p_max", "v_max", "kp_max", "kd_max", "t_max"):
            if parsed[key] is not None:
                check.report(f"{path}.{key}", "only for the MIT-family protocols, not cia402",
                             "absent (or null) for protocol cia402", parsed[key])
                problems = True
        if problems:
            return INVALID
        return CanJointConfig(protocol="cia402", host_id=0, p_max=math.inf, v_max=math.inf, kp_max=math.inf,
                              kd_max=math.inf, t_max=math.inf, counts_per_rad=parsed["counts_per_rad"],
                              rated_torque_nm=parsed["rated_torque_nm"], mode=parsed["mode"])
    for key in _CIA402_KEYS:
        if parsed[key] is not None:
            check.report(f"{path}.{key}", f"only for protocol cia402, not {protocol}", "absent (or null)", parsed[key])
            return INVALID
    if isinstance(device_id, int):
        top_id = 0x7FF if protocol in ("mit_reference", "cubemars", "damiao") else 0xFF
        if not 1 <= device_id <= top_id:
            check.report(f"{path.rsplit('.', 1)[0]}.device_id", f"out of range for protocol {protocol}",
                         f"an integer in 1..{top_id}", device_id)
            return INVALID
    defaults = can_protocols.DEFAULT_RANGES[protocol]
    host_id = parsed["host_id"]
    if host_id is None:
        host_id = can_protocols.default_host_id(protocol, device_id if isinstance(device_id, int) else 0)
    return CanJointConfig(
        protocol=protocol,
        host_id=host_id,
        **{key: defaults.__dict__[key] if parsed[key] is None else parsed[key]
           for key in ("p_max", "v_max", "kp_max", "kd_max", "t_max")},
    )


def check_can(check: Validator, buses: Sequence[BusConfig], joints: Sequence[JointConfig], loop: LoopConfig,
              safety: SafetyConfig) -> None:
    """CAN joints have a protocol whose ranges hold their limits, and every CAN bus fits its bit rate."""
    from .busload import bus_load

    can_buses = {bus.name: bus for bus in buses if bus.type in CAN_BUS_TYPES}
    for index, joint in enumerate(joints):
        path = f"joints[{index}]"
        if joint.bus not in can_buses:
            if joint.can is not None:
                check.report(f"{path}.can", "only for joints on a CAN bus",
                             "a joint whose bus has type " + " or ".join(CAN_BUS_TYPES), joint.bus)
            continue
        if joint.can is None:
            check.report(f"{path}.can", "missing: the joint is on a CAN bus",
                         "a mapping with keys: " + ", ".join(CAN_JOINT_KEYS), None)
            continue
        c, g, limits = joint.can, joint.gear, joint.limits
        if c.protocol == "cia402":
            wanted = "drive_impedance" if c.mode in ("csp", "csv") else "torque"
            if joint.command_mode != wanted:
                check.report(f"{path}.command_mode", f"{joint.command_mode} does not fit CiA 402 mode {c.mode} "
                             f"(csp/csv take the drive-side position/velocity reference, cst takes torque)",
                             wanted, joint.command_mode)
            continue
        reach = max(abs(joint.direction * g * q + joint.offset_rad) for q in (limits.q_min, limits.q_max))
        needs = [
            ("p_max", reach, "the motor-side position range"),
            ("v_max", safety.overspeed_factor * limits.velocity * g, "overspeed_factor x the motor-side velocity limit"),
            ("t_max", limits.torque / g, "the motor-side torque limit"),
        ]
        if joint.command_mode == "drive_impedance":
            needs += [("kp_max", joint.kp / g**2, "the motor-side kp"), ("kd_max", joint.kd / g**2, "the motor-side kd")]
        for key, need, what in needs:
            if getattr(c, key) < need:
                check.report(f"{path}.can.{key}", f"range {getattr(c, key):g} does not cover {what} ({need:g})",
                             f"a number >= {need:g} (or lower the joint's limits)", getattr(c, key))
    for bus in can_buses.values():
        protocols = [j.can.protocol for j in joints if j.bus == bus.name and j.can is not None]
        if not protocols:
            continue
        if "cia402" in protocols and set(protocols) != {"cia402"}:
            index = next(i for i, b in enumerate(buses) if b.name == bus.name)
            check.report(f"buses[{index}]", "mixes CANopen CiA 402 drives with MIT-family motors",
                         "one bus per family: every joint on this bus with protocol cia402, or none",
                         sorted(set(protocols)))
            continue
        load = bus_load(bus.name, protocols, rate_hz=loop.rate_hz, fd=bus.params["fd"], bitrate=bus.params["bitrate"],
                        data_bitrate=bus.params["data_bitrate"] if bus.params["fd"] else None,
                        max_load=bus.params["max_load"])
        if not load.fits:
            index = next(i for i, b in enumerate(buses) if b.name == bus.name)
            check.report(f"buses[{index}]", f"bus load too high at {loop.rate_hz} Hz: {load.describe()}",
                         "fewer joints on this bus, CAN-FD (fd: true) or a higher data_bitrate, or a lower loop rate",
                         bus.name)


