"""Inspire RH56-style dexterous hand: Modbus-RTU over RS-485 (register map: firmware_interfaces/serial/inspire_rh56.md).

`InspireHand` polls the actual angles, forces, error codes, status and temperatures at its rate and writes the
set-points queued by `set_angles` / `set_forces` / `set_speeds` from any thread (the newest queued value of
each group wins; a write that fails is retried on the next poll). `VirtualInspireHand` is the model behind a pty
or an in-process link. The Modbus master is our own (why: `humanoid_rt.devices.modbus`).
"""

from __future__ import annotations

import struct
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from . import modbus
from .base import SerialDevice
from .framing import FormatError
from .virtual import VirtualDevice

__all__ = ["FINGERS", "REGISTERS", "SETPOINT_RANGE", "InspireHand", "VirtualInspireHand", "pack_bytes",
           "unpack_bytes", "check_setpoints"]

# Degree-of-freedom order of the register groups (the RH56 manuals' order).
FINGERS = ("little", "ring", "middle", "index", "thumb_bend", "thumb_rotation")
SETPOINT_RANGE = (0, 1000)


@dataclass(frozen=True)
class RegisterGroup:
    name: str
    address: int
    count: int  # Modbus registers
    packing: str  # "u16": one value per register; "i16": signed; "u8": two fingers per register, low byte first
    writable: bool = False


REGISTERS = {group.name: group for group in (
    RegisterGroup("angle_set", 1486, 6, "u16", writable=True),
    RegisterGroup("force_set", 1498, 6, "u16", writable=True),
    RegisterGroup("speed_set", 1522, 6, "u16", writable=True),
    RegisterGroup("angle_act", 1546, 6, "u16"),
    RegisterGroup("force_act", 1582, 6, "i16"),
    RegisterGroup("error", 1606, 3, "u8"),
    RegisterGroup("status", 1612, 3, "u8"),
    RegisterGroup("temperature", 1618, 3, "u8"),
)}
_POLLED = ("angle_act", "force_act", "error", "status", "temperature")

# Bits of the error byte and values of the status byte (RH56 manuals; see the register map document).
ERROR_BITS = {0: "locked rotor", 1: "over-temperature", 2: "over-current", 3: "motor fault", 4: "communication"}
STATUS = {0: "releasing", 1: "grasping", 2: "position reached", 3: "force reached", 5: "current protection",
          6: "locked rotor stop", 7: "fault stop"}


def unpack_bytes(registers: Sequence[int]) -> list[int]:
    """Six one-byte values from three registers: finger 2i in the low byte, 2i+1 in the high byte."""
    return [byte for register in registers for byte in (register & 0xFF, register >> 8)]


def pack_bytes(values: Sequence[int]) -> list[int]:
    return [values[i] | (values[i + 1] << 8) for i in range(0, len(values), 2)]


def _decode(group: RegisterGroup, registers: Sequence[int]) -> list[int]:
    if group.packing == "u8":
        return unpack_bytes(registers)
    if group.packing == "i16":
        return list(struct.unpack(">6h", struct.pack(">6H", *registers)))
    return list(registers)


def check_setpoints(field: str, values) -> list[int]:
    """Six integers in 0..1000, one per finger; raises ValueError naming every bad finger and the range."""
    allowed = f"an integer {SETPOINT_RANGE[0]}..{SETPOINT_RANGE[1]}"
    try:
        values = list(values)
    except TypeError:
        raise ValueError(f"{field}: not a sequence; allowed: {len(FINGERS)} values, one per finger "
                         f"({', '.join(FINGERS)}), each {allowed}") from None
    if len(values) != len(FINGERS):
        raise ValueError(f"{field}: {len(values)} values; allowed: {len(FINGERS)}, one per finger "
                         f"({', '.join(FINGERS)}), each {allowed}")
    problems = []
    clean = []
    for finger, value in zip(FINGERS, values):
        integral = isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
        if not integral or not SETPOINT_RANGE[0] <= value <= SETPOINT_RANGE[1]:
            problems.append(f"{field}.{finger}: {value!r} {'out of range' if integral else 'not an integer'}; "
                            f"allowed: {allowed}")
        else:
            clean.append(int(value))
    if problems:
        raise ValueError("; ".join(problems))
    return clean


class InspireHand(SerialDevice):
    kind = "inspire_hand"
    COLUMNS = {
        "angle": (np.uint16, (6,)),  # angleAct, 0..1000 (1000 open)
        "force": (np.int16, (6,)),  # forceAct, signed raw units (see the register map)
        "angle_set": (np.uint16, (6,)),  # the target the hand holds (read at connect, then what we wrote)
        "error": (np.uint8, (6,)),  # bit field, ERROR_BITS
        "status": (np.uint8, (6,)),  # STATUS
        "temperature": (np.uint8, (6,)),  # degC
    }
    EXTRA_COUNTERS = ("exceptions", "writes")

    def __init__(self, name: str, url: str, *, slave_id: int = 1, baudrate: int = 115200, rate_hz: float = 100.0,
                 **kwargs):
        super().__init__(name, url, baudrate=baudrate, rate_hz=rate_hz, **kwargs)
        if not 1 <= slave_id <= 247:
            raise ValueError(f"slave_id: {slave_id}; allowed: an integer 1..247")
        self.slave_id = slave_id
        self._pending: dict[str, list[int]] = {}
        self._pending_lock = threading.Lock()
        self._angle_set = np.zeros(6, np.uint16)
        self._master: modbus.ModbusRtuMaster | None = None
        self._next_poll = 0.0

    # --- set-points, from any thread ---------------------------------------------------------
    def _queue(self, group: str, values) -> None:
        clean = check_setpoints(group, values)
        with self._pending_lock:
            self._pending[group] = clean

    def set_angles(self, values) -> None:
        """Target angles, 0..1000 per finger (1000 open); sent on the next poll."""
        self._queue("angle_set", values)

    def set_forces(self, values) -> None:
        """Force thresholds, 0..1000 per finger."""
        self._queue("force_set", values)

    def set_speeds(self, values) -> None:
        """Speeds, 0..1000 per finger."""
        self._queue("speed_set", values)

    # --- the poll cycle ----------------------------------------------------------------------
    def _read(self, group_name: str) -> list[int]:
        group = REGISTERS[group_name]
        registers = self._master.read_holding(self.slave_id, group.address, group.count)
        self._count("frames")
        return _decode(group, registers)

    def _on_open(self, port) -> None:
        super()._on_open(port)
        self._master = modbus.ModbusRtuMaster(port, self.baudrate)
        self._angle_set[:] = self._read("angle_set")

    def _write_pending(self) -> None:
        with self._pending_lock:
            pending, self._pending = self._pending, {}
        for index, (group_name, values) in enumerate(pending.items()):
            group = REGISTERS[group_name]
            try:
                self._master.write_multiple(self.slave_id, group.address, values)
            except Exception:
                with self._pending_lock:  # retry next poll, unless a newer value was queued meanwhile
                    for name, unsent in list(pending.items())[index:]:
                        self._pending.setdefault(name, unsent)
                raise
            self._count("writes")
            if group_name == "angle_set":
                self._angle_set[:] = values

    def _poll(self, port) -> int:
        self._write_pending()
        angle = self._read("angle_act")
        t_ns = time.monotonic_ns()
        values = {name: self._read(name) for name in _POLLED[1:]}
        self.samples.append(t_ns, {"angle": angle, "force": values["force_act"], "angle_set": self._angle_set.copy(),
                                   "error": values["error"], "status": values["status"],
                                   "temperature": values["temperature"]})
        return 1

    def _pace(self) -> None:
        period = 1.0 / self.rate_hz
        now = time.monotonic()
        self._next_poll = max(self._next_poll + period, now)  # late: start again from now, no burst
        self._stop.wait(self._next_poll - now)


class VirtualInspireHand(VirtualDevice):
    """A hand model speaking the register map: fingers move toward angle_set at speed_set; a finger that meets
    its obstacle stops there and its force rises toward force_set; error, status and temperature registers;
    exception responses for unknown functions (0x01), unmapped or partial register ranges (0x02) and set-points
    above 1000 (0x03). Requests for another slave id or with a bad CRC get no answer, as on RS-485.
    """

    kind = "inspire_hand"
    FULL_SPEED_UNITS_PER_S = 2000.0  # speed_set 1000 moves this many angle units per second
    CONTACT_STIFFNESS = 4.0  # force units per angle unit pressed past the obstacle

    def __init__(self, rate_hz: float = 500.0, slave_id: int = 1, seed: int = 0):
        super().__init__(rate_hz, seed)
        self.slave_id = slave_id
        self.angle_set = np.full(6, 1000.0)
        self.force_set = np.full(6, 500.0)
        self.speed_set = np.full(6, 1000.0)
        self.angle = np.full(6, 1000.0)
        self.force = np.zeros(6)
        self.error = np.zeros(6, np.int64)
        self.temperature = np.full(6, 30.0)
        self.obstacle = np.full(6, -1.0)  # angle where a finger meets an object; < 0: nothing there

    def set_obstacle(self, finger: str, angle: float | None) -> None:
        self.obstacle[FINGERS.index(finger)] = -1.0 if angle is None else angle

    def set_error(self, finger: str, bits: int) -> None:
        self.error[FINGERS.index(finger)] = bits

    def _advance(self, dt: float) -> None:
        step = self.speed_set / 1000.0 * self.FULL_SPEED_UNITS_PER_S * dt
        target = self.angle_set.copy()
        blocked = (self.obstacle >= 0) & (target < self.obstacle)  # closing (angle falling) into the object
        target[blocked] = np.maximum(self.obstacle[blocked], target[blocked])
        self.angle += np.clip(target - self.angle, -step, step)
        pressing = blocked & (self.angle <= self.obstacle + 1e-9)
        wanted = np.where(pressing, np.minimum(self.force_set, self.CONTACT_STIFFNESS *
                                                (self.obstacle - self.angle_set)), 0.0)
        self.force += np.clip(wanted - self.force, -step, step)
        # Temperature follows the force slowly (a first-order lag of ~10 s).
        self.temperature += (30.0 + self.force / 50.0 - self.temperature) * min(1.0, dt / 10.0)

    def _status(self) -> list[int]:
        status = []
        for i in range(6):
            if self.error[i]:
                status.append(7)
            elif self.force[i] >= self.force_set[i] > 0:
                status.append(3)
            elif abs(self.angle[i] - self.angle_set[i]) < 1.0:
                status.append(2)
            else:
                status.append(1 if self.angle_set[i] < self.angle[i] else 0)
        return status

    def _registers(self, group: RegisterGroup) -> list[int]:
        if group.packing == "u8":
            source = {"error": self.error, "status": self._status(),
                      "temperature": np.round(self.temperature)}[group.name]
            return pack_bytes([int(v) & 0xFF for v in source])
        values = getattr(self, {"angle_act": "angle", "force_act": "force"}.get(group.name, group.name))
        return [int(round(v)) & 0xFFFF for v in values]

    @staticmethod
    def _group_for(address: int, count: int) -> RegisterGroup | None:
        for group in REGISTERS.values():
            if address == group.address and count == group.count:
                return group
        return None

    def _answer(self, frame: bytes) -> bytes | None:
        slave, function, address, payload = modbus.parse_request(frame)
        if slave != self.slave_id:
            return None
        count = payload if function == modbus.READ_HOLDING_REGISTERS else len(payload)
        group = self._group_for(address, count)
        if group is None or (function == modbus.WRITE_MULTIPLE_REGISTERS and not group.writable):
            return modbus.exception_response(slave, function, 0x02)
        if function == modbus.READ_HOLDING_REGISTERS:
            return modbus.read_holding_response(slave, self._registers(group))
        if any(value > SETPOINT_RANGE[1] for value in payload):
            return modbus.exception_response(slave, function, 0x03)
        getattr(self, group.name)[:] = payload
        return modbus.write_multiple_response(slave, address, count)

    def _respond(self) -> list[bytes]:
        responses = []
        buffer = self._input
        while (length := modbus.request_length(buffer)) is not None:
            if length == 0:
                # A function we do not serve: its length is unknown, so take the buffer as one frame (requests
                # arrive in one piece here); ours and intact gets 0x01, anything else is dropped like line noise.
                if modbus.crc_ok(bytes(buffer)) and buffer[0] == self.slave_id:
                    responses.append(modbus.exception_response(buffer[0], buffer[1], 0x01))
                buffer.clear()
                break
            if len(buffer) < length:
                break
            frame = bytes(buffer[:length])
            del buffer[:length]
            try:
                response = self._answer(frame)
            except FormatError:  # bad CRC or malformed: a real slave stays silent until the line is quiet
                buffer.clear()
                break
            if response is not None:
                responses.append(response)
        return responses
