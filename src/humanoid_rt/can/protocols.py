"""The MIT actuator protocol family as Python tables: IDs, ranges, field widths.

Both ends of the wire are C++: the host codecs (`drivers/can/can_codecs.*`) and the virtual
motors' device side (`drivers/can/virtual_motors.*`), bound as `humanoid_rt._core.can`. The
Python tools read these tables: the virtual network (IDs, default ranges), `can-decode` and the
DBC generator.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "PROTOCOLS",
    "Ranges",
    "DEFAULT_RANGES",
    "default_host_id",
    "has_temperature",
    "has_error_code",
    "uint_to_float",
    "reply_id",
    "command_id",
]

PROTOCOLS = ("mit_reference", "cubemars", "damiao", "robstride", "myactuator")

#: Special-frame last bytes after FF x7 (reference, CubeMars, Damiao; FB is Damiao only).
SPECIAL_LAST_BYTE = {0xFC: "enter", 0xFD: "exit", 0xFE: "zero", 0xFB: "clear_error"}

ROBSTRIDE_MOTION, ROBSTRIDE_FEEDBACK, ROBSTRIDE_ENABLE, ROBSTRIDE_STOP, ROBSTRIDE_ZERO = 1, 2, 3, 4, 6
MYACTUATOR_COMMAND_BASE, MYACTUATOR_REPLY_BASE = 0x400, 0x500
MYACTUATOR_SYSTEM_BASE, MYACTUATOR_SYSTEM_REPLY_BASE = 0x140, 0x240
MYACTUATOR_SHUTDOWN, MYACTUATOR_ZERO_TO_ROM = 0x80, 0x64
#: Damiao error states (reply byte 0 high nibble); 0 disabled and 1 enabled are not errors.
DAMIAO_ERRORS = {8: "over-voltage", 9: "under-voltage", 0xA: "over-current", 0xB: "MOS over-temperature",
                 0xC: "coil over-temperature", 0xD: "communication lost", 0xE: "overload"}


@dataclass(frozen=True)
class Ranges:
    """Value ranges of a motor model: p, v, t symmetric around 0; kp, kd from 0."""

    p_max: float = 12.5
    v_max: float = 45.0
    kp_max: float = 500.0
    kd_max: float = 5.0
    t_max: float = 18.0


# Typical models; the robot config overrides them per joint (`can: {t_max: ...}`).
DEFAULT_RANGES = {
    "mit_reference": Ranges(12.5, 65.0, 500.0, 5.0, 18.0),  # mini cheetah actuator
    "cubemars": Ranges(12.5, 50.0, 500.0, 5.0, 25.0),  # AK80-9
    "damiao": Ranges(12.5, 30.0, 500.0, 5.0, 10.0),  # DM-J4310 (PMAX/VMAX/TMAX registers)
    "robstride": Ranges(12.57, 44.0, 500.0, 5.0, 17.0),  # RS01
    "myactuator": Ranges(12.5, 45.0, 500.0, 5.0, 18.0),  # RMD-X motion mode
}

#: Bits of each field: (p, v, kp, kd, t) for commands.
FIELD_BITS = {name: (16, 12, 12, 12, 12) for name in PROTOCOLS}
FIELD_BITS["robstride"] = (16, 16, 16, 16, 16)


def default_host_id(protocol: str, device_id: int) -> int:
    """The ID replies come back on (reference/CubeMars: CAN_MASTER 0; Damiao: master ID,
    conventionally device + 0x10; Robstride: host 0xFD; MyActuator: unused)."""
    return {"damiao": (device_id + 0x10) & 0x7FF, "robstride": 0xFD}.get(protocol, 0)


def has_temperature(protocol: str) -> bool:
    return protocol in ("cubemars", "damiao", "robstride")


def has_error_code(protocol: str) -> bool:
    return protocol in ("cubemars", "damiao", "robstride")


def uint_to_float(code: int, x_min: float, x_max: float, bits: int) -> float:
    """A field's code as a value, for the log decoder (DBC scale and offset: raw * span / (2^bits - 1) + min)."""
    return code * (x_max - x_min) / ((1 << bits) - 1) + x_min


def command_id(protocol: str, device_id: int) -> tuple[int, bool]:
    """(CAN ID, extended) of a device's command frames (Robstride: the torque bits are zero)."""
    if protocol == "myactuator":
        return MYACTUATOR_COMMAND_BASE + device_id, False
    if protocol == "robstride":
        return (ROBSTRIDE_MOTION << 24) | (device_id & 0xFF), True
    return device_id, False


def reply_id(protocol: str, device_id: int, host_id: int) -> tuple[int, bool]:
    """(CAN ID, extended) of a device's status replies (Robstride: mode and fault bits zero)."""
    if protocol == "myactuator":
        return MYACTUATOR_REPLY_BASE + device_id, False
    if protocol == "robstride":
        return (ROBSTRIDE_FEEDBACK << 24) | ((device_id & 0xFF) << 8) | (host_id & 0xFF), True
    return host_id, False
