"""Virtual MIT-family motors: the device end of a CAN channel, for tests and CI without a robot.

Each `VirtualMotor` speaks one protocol of `protocols.PROTOCOLS` and carries a motor model:

    I ddq = sat(tau_in, tau_max) - b dq - c sign(dq)
    tau_in = kp (q* - q) + kd (dq* - dq) + tau_ff     (in motor mode; 0 otherwise)

Every command frame advances the model by exactly one loop period (`period_s`), after the
reply is sent: the reply carries the state the command found, as a real drive's does. Time
is counted in commands, never read from the wall clock, so stepped runs are exact.

A `VirtualCanNetwork` owns the motors and the device end of each channel:
  - an AF_UNIX SOCK_SEQPACKET socketpair carrying `struct can_frame` / `canfd_frame`
    (`add_channel()` returns the other end's fd for the C++ `CanBus`), served by one
    background Python thread (`start()`, stepped runs), or -- for real-time runs, where replies
    are due within a quarter period -- handed with all motor state and faults to one C++
    `VirtualMotorResponder` thread per channel (`serve_natively()`, the same model; see
    drivers/can/virtual_motors.hpp for why C++ and not a child process) and taken back with
    `serve_in_python()`;
  - or any python-can bus (`serve_python_can()`: udp_multicast, or a real adapter such as can0).

Fault injection (`inject()`): no reply, wrong device id, garbled payload, over-temperature,
error codes. It applies from the next command a motor receives: `sync()` first waits until
every frame already sent has been answered, so stepped tests know exactly which cycle it hits.
"""

from __future__ import annotations

import math
import os
import random
import select
import socket
import struct
import sys
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Iterable

from . import protocols as P
from .protocols import Ranges

__all__ = ["MotorModel", "VirtualMotor", "VirtualCanNetwork", "FAULTS"]

CAN_MTU, CANFD_MTU = 16, 72
CAN_EFF_FLAG, CAN_EFF_MASK, CAN_SFF_MASK = 0x80000000, 0x1FFFFFFF, 0x7FF
CANFD_BRS = 0x01
_HEADER = struct.Struct("<IBBBB")  # can_id, len, flags, res0, res1

#: Fault kinds `inject()` accepts.
FAULTS = ("no_reply", "wrong_id", "garbled", "over_temperature", "error_code")


@dataclass
class MotorModel:
    inertia_kgm2: float = 0.05
    viscous_nm_s_rad: float = 0.05
    coulomb_nm: float = 0.1
    torque_limit_nm: float = 18.0
    ambient_temperature_c: float = 35.0
    substeps: int = 4


@dataclass
class VirtualMotor:
    """One actuator on a channel. State is motor side (rad, rad/s, Nm)."""

    protocol: str
    device_id: int
    host_id: int
    ranges: Ranges
    model: MotorModel = field(default_factory=MotorModel)
    joint: int = -1  # the robot joint it stands for (for lookups); -1 = none
    q: float = 0.0
    dq: float = 0.0
    tau: float = 0.0
    enabled: bool = False  # motor mode entered
    commands: int = 0  # command frames received
    zero_offset: float = 0.0
    # Faults: counts of replies still to affect (-1 = until cleared), or values.
    no_reply: int = 0
    wrong_id: int = 0
    garbled: int = 0
    temperature_c: float | None = None  # injected; None = ambient
    error_code: int = 0

    def __post_init__(self):
        if self.protocol not in P.PROTOCOLS:
            raise ValueError(f"protocol: unknown protocol {self.protocol!r}; allowed: {', '.join(P.PROTOCOLS)}")
        if self.protocol in ("mit_reference", "cubemars", "damiao") and not 0 < self.device_id <= 0x7FF:
            raise ValueError(f"device_id: must be in 1..2047 for {self.protocol} (got {self.device_id})")
        if self.protocol in ("robstride", "myactuator") and not 0 < self.device_id <= 0xFF:
            raise ValueError(f"device_id: must be in 1..255 for {self.protocol} (got {self.device_id})")

    # -- physics ---------------------------------------------------------------
    def integrate(self, dt: float, q_d: float, dq_d: float, kp: float, kd: float, tau_ff: float) -> None:
        m = self.model
        h = dt / m.substeps
        limit = m.torque_limit_nm
        total = 0.0
        q, dq = self.q, self.dq
        for _ in range(m.substeps):
            tau_in = kp * (q_d - q) + kd * (dq_d - dq) + tau_ff if self.enabled else 0.0
            tau_in = -limit if tau_in < -limit else (limit if tau_in > limit else tau_in)
            total += tau_in
            v = (dq + h / m.inertia_kgm2 * tau_in) / (1.0 + h * m.viscous_nm_s_rad / m.inertia_kgm2)
            coulomb_dv = m.coulomb_nm * h / m.inertia_kgm2
            v = 0.0 if abs(v) <= coulomb_dv else v - math.copysign(coulomb_dv, v)
            dq = v
            q += h * v
        self.q, self.dq, self.tau = q, dq, total / m.substeps

    @property
    def reported_temperature(self) -> float:
        return self.model.ambient_temperature_c if self.temperature_c is None else self.temperature_c

    # -- wire ------------------------------------------------------------------
    def reply(self, device_id: int | None = None) -> tuple[int, bool, bytes]:
        """The status reply (CAN ID, extended, payload) for the present state."""
        r, proto = self.ranges, self.protocol
        dev = self.device_id if device_id is None else device_id
        q = self.q - self.zero_offset
        if proto == "robstride":
            p = P.float_to_uint(q, -r.p_max, r.p_max, 16)
            v = P.float_to_uint(self.dq, -r.v_max, r.v_max, 16)
            t = P.float_to_uint(self.tau, -r.t_max, r.t_max, 16)
            temp = max(0, min(0xFFFF, int(round(self.reported_temperature * 10))))
            mode = 2 if self.enabled else 0
            can_id = ((P.ROBSTRIDE_FEEDBACK << 24) | (mode << 22) | ((self.error_code & 0x3F) << 16)
                      | ((dev & 0xFF) << 8) | (self.host_id & 0xFF))
            return can_id, True, struct.pack(">HHHH", p, v, t, temp)
        p = P.float_to_uint(q, -r.p_max, r.p_max, 16)
        v = P.float_to_uint(self.dq, -r.v_max, r.v_max, 12)
        t = P.float_to_uint(self.tau, -r.t_max, r.t_max, 12)
        body = bytes((p >> 8, p & 0xFF, v >> 4, ((v & 0xF) << 4) | (t >> 8), t & 0xFF))
        temp = max(-128, min(127, int(round(self.reported_temperature))))
        if proto == "mit_reference":
            return self.host_id, False, bytes((dev & 0xFF,)) + body
        if proto == "cubemars":
            return self.host_id, False, bytes((dev & 0xFF,)) + body + struct.pack("bB", temp, self.error_code & 0xFF)
        if proto == "damiao":
            state = self.error_code if self.error_code else (1 if self.enabled else 0)
            t_u8 = max(0, min(255, temp))
            return self.host_id, False, bytes((((state & 0xF) << 4) | (dev & 0xF),)) + body + bytes((t_u8, t_u8))
        return P.MYACTUATOR_REPLY_BASE + self.device_id, False, bytes((dev & 0xFF,)) + body + b"\0\0"

    def on_command(self, payload: bytes, torque_code: int | None, dt: float):
        """Decode a motion command; returns the model inputs (q*, dq*, kp, kd, tau_ff)."""
        r = self.ranges
        if self.protocol == "robstride":
            p, v, kp, kd = struct.unpack(">HHHH", payload[:8])
            return (P.uint_to_float(p, -r.p_max, r.p_max, 16) + self.zero_offset,
                    P.uint_to_float(v, -r.v_max, r.v_max, 16), P.uint_to_float(kp, 0.0, r.kp_max, 16),
                    P.uint_to_float(kd, 0.0, r.kd_max, 16), P.uint_to_float(torque_code, -r.t_max, r.t_max, 16))
        d = payload
        p = (d[0] << 8) | d[1]
        v = (d[2] << 4) | (d[3] >> 4)
        kp = ((d[3] & 0xF) << 8) | d[4]
        kd = (d[5] << 4) | (d[6] >> 4)
        t = ((d[6] & 0xF) << 8) | d[7]
        return (P.uint_to_float(p, -r.p_max, r.p_max, 16) + self.zero_offset, P.uint_to_float(v, -r.v_max, r.v_max, 12),
                P.uint_to_float(kp, 0.0, r.kp_max, 12), P.uint_to_float(kd, 0.0, r.kd_max, 12),
                P.uint_to_float(t, -r.t_max, r.t_max, 12))


def _pack(can_id: int, extended: bool, payload: bytes, fd: bool) -> bytes:
    raw_id = can_id | (CAN_EFF_FLAG if extended else 0)
    header = _HEADER.pack(raw_id, len(payload), CANFD_BRS if fd else 0, 0, 0)
    size = CANFD_MTU if fd else CAN_MTU
    return (header + payload).ljust(size, b"\0")


class _Channel:
    def __init__(self, name: str, sock: socket.socket | None, fd_frames: bool):
        self.name = name
        self.sock = sock
        self.fd_frames = fd_frames
        self.by_std_id: dict[int, VirtualMotor] = {}  # command ID -> motor (reference, CubeMars, Damiao, MyActuator)
        self.by_system_id: dict[int, VirtualMotor] = {}  # MyActuator 0x140 + id
        self.robstride: dict[int, VirtualMotor] = {}  # device -> motor
        self.motors: list[VirtualMotor] = []
        self.cia402: dict[int, Any] = {}  # node id -> VirtualCia402Drive (CANopen channels)
        self.hung_up = False  # the host end was closed
        self.frames_in = 0
        self.frames_out = 0
        self.ignored = 0


class VirtualCanNetwork:
    """Virtual motors on one or more channels, answered by one thread or one child process.

    Args:
        period_s: model time each command frame advances (the loop period).
        seed: seeds the garbled-payload generator (runs are reproducible).
    """

    def __init__(self, period_s: float, seed: int = 0):
        if not (period_s > 0 and math.isfinite(period_s)):
            raise ValueError(f"period_s: must be a finite number > 0 (got {period_s!r})")
        self.period_s = float(period_s)
        self.seed = seed
        self._rng = random.Random(seed)
        self._channels: dict[str, _Channel] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._native: dict[str, Any] = {}  # channel -> C++ VirtualMotorResponder while serving natively
        self._stop_r, self._stop_w = None, None

    # -- building --------------------------------------------------------------
    def add_channel(self, name: str, *, fd: bool = False) -> int:
        """Creates a socketpair channel; returns the fd for the C++ CanBus (which takes ownership)."""
        if name in self._channels:
            raise ValueError(f"channel: {name!r} already exists")
        host_end, device_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        # Room for a whole cycle of frames in both directions.
        for s in (host_end, device_end):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 18)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 18)
        device_end.setblocking(False)
        self._channels[name] = _Channel(name, device_end, fd)
        return host_end.detach()

    def add_python_can_channel(self, name: str, *, fd: bool = False) -> None:
        """A channel served by serve_python_can() on a python-can bus instead of a socketpair."""
        if name in self._channels:
            raise ValueError(f"channel: {name!r} already exists")
        self._channels[name] = _Channel(name, None, fd)

    def add_motor(self, channel: str, protocol: str, device_id: int, *, host_id: int | None = None,
                  ranges: Ranges | None = None, model: MotorModel | None = None, joint: int = -1,
                  q0: float = 0.0) -> VirtualMotor:
        ch = self._channel(channel)
        host = P.default_host_id(protocol, device_id) if host_id is None else host_id
        motor = VirtualMotor(protocol, device_id, host, ranges or P.DEFAULT_RANGES.get(protocol, Ranges()),
                             model or MotorModel(), joint, q=q0)
        if protocol == "robstride":
            key_table, key = ch.robstride, device_id
        else:
            key_table, key = ch.by_std_id, P.command_id(protocol, device_id)[0]
        if key in key_table:
            raise ValueError(f"device_id: {device_id} ({protocol}) already on channel {channel!r}")
        key_table[key] = motor
        if protocol == "myactuator":
            ch.by_system_id[P.MYACTUATOR_SYSTEM_BASE + device_id] = motor
        ch.motors.append(motor)
        return motor

    def add_cia402_drive(self, channel: str, drive) -> Any:
        """Put a `cia402.VirtualCia402Drive` on a channel (CANopen and MIT devices do not share one)."""
        ch = self._channel(channel)
        if ch.motors:
            raise ValueError(f"channel: {channel!r} carries MIT-family motors; CiA 402 drives need their own")
        if drive.node_id in ch.cia402:
            raise ValueError(f"node_id: {drive.node_id} already on channel {channel!r}")
        ch.cia402[drive.node_id] = drive
        return drive

    def drives(self) -> list:
        return [d for ch in self._channels.values() for d in ch.cia402.values()]

    def drive(self, joint: int):
        """The virtual CiA 402 drive standing for robot joint `joint` (call sync() before reading state)."""
        for d in self.drives():
            if d.joint == joint:
                return d
        raise KeyError(f"joint: no virtual CiA 402 drive for joint {joint}")

    def _channel(self, name: str) -> _Channel:
        try:
            return self._channels[name]
        except KeyError:
            raise ValueError(f"channel: unknown channel {name!r}; allowed: {', '.join(self._channels)}") from None

    def motors(self) -> list[VirtualMotor]:
        """Every motor (while serving natively: a snapshot of the C++ motors' state)."""
        self._pull_native()
        return [m for ch in self._channels.values() for m in ch.motors]

    def motor(self, joint: int) -> VirtualMotor:
        """The motor standing for robot joint `joint` (call sync() before reading state)."""
        for m in self.motors():
            if m.joint == joint:
                return m
        raise KeyError(f"joint: no virtual motor for joint {joint}")

    # -- frames ------------------------------------------------------------------
    def handle(self, ch: _Channel, can_id: int, extended: bool, payload: bytes) -> list[tuple[int, bool, bytes]]:
        """Serve one received frame; returns the replies (CAN ID, extended, payload)."""
        ch.frames_in += 1
        if ch.cia402:
            replies, served = [], False
            for drive in ch.cia402.values():
                out = None if extended else drive.handle(can_id, payload, self.period_s)
                if out is not None:
                    served = True
                    replies += out
            if not served:
                ch.ignored += 1
            return replies
        if extended:
            kind = (can_id >> 24) & 0x1F
            motor = ch.robstride.get(can_id & 0xFF)
            if motor is None or len(payload) != 8:
                ch.ignored += 1
                return []
            if kind == P.ROBSTRIDE_MOTION:
                self._apply(motor, payload, (can_id >> 8) & 0xFFFF)
            elif kind == P.ROBSTRIDE_ENABLE:
                motor.enabled = True
                self._advance(motor)
            elif kind == P.ROBSTRIDE_STOP:
                motor.enabled = False
                if payload[0] == 1:
                    motor.error_code = 0
                self._advance(motor)
            elif kind == P.ROBSTRIDE_ZERO:
                motor.zero_offset = motor.q
                self._advance(motor)
            else:
                ch.ignored += 1
                return []
            return self._reply(ch, motor)
        motor = ch.by_std_id.get(can_id)
        if motor is not None and motor.protocol != "robstride":
            if len(payload) != 8:
                ch.ignored += 1
                return []
            if payload[:7] == b"\xff" * 7 and payload[7] in P.SPECIAL_LAST_BYTE and motor.protocol != "myactuator":
                action = P.SPECIAL_LAST_BYTE[payload[7]]
                if action == "clear_error" and motor.protocol != "damiao":
                    action = None
                if action == "enter":
                    motor.enabled = True
                elif action == "exit":
                    motor.enabled = False
                elif action == "zero":
                    motor.zero_offset = motor.q
                elif action == "clear_error":
                    motor.error_code = 0
                self._advance(motor)
            else:
                if motor.protocol == "myactuator":
                    motor.enabled = True  # motion mode acts on every command
                self._apply(motor, payload, None)
            return self._reply(ch, motor)
        system = ch.by_system_id.get(can_id)
        if system is not None and payload:
            if payload[0] == P.MYACTUATOR_SHUTDOWN:
                system.enabled = False
            elif payload[0] == P.MYACTUATOR_ZERO_TO_ROM:
                system.zero_offset = system.q
            return [(P.MYACTUATOR_SYSTEM_REPLY_BASE + system.device_id, False, bytes(payload[:1]) + b"\0" * 7)]
        ch.ignored += 1
        return []

    def _apply(self, motor: VirtualMotor, payload: bytes, torque_code: int | None) -> None:
        motor.commands += 1
        motor._pending = motor.on_command(payload, torque_code, self.period_s)

    def _advance(self, motor: VirtualMotor) -> None:
        motor.commands += 1
        motor._pending = (motor.q, 0.0, 0.0, 0.0, 0.0)  # a mode frame carries no command: coast

    def _reply(self, ch: _Channel, motor: VirtualMotor) -> list[tuple[int, bool, bytes]]:
        replies = []
        if motor.no_reply:
            motor.no_reply -= motor.no_reply > 0
        elif motor.wrong_id:
            motor.wrong_id -= motor.wrong_id > 0
            replies.append(motor.reply(device_id=self._unused_id(ch, motor)))
        elif motor.garbled:
            motor.garbled -= motor.garbled > 0
            can_id, ext, _ = motor.reply()
            replies.append((can_id, ext, bytes(self._rng.randrange(256) for _ in range(3))))
        else:
            replies.append(motor.reply())
        # The command acts for one period after the reply, as on a drive.
        q_d, dq_d, kp, kd, tau_ff = motor._pending
        motor.integrate(self.period_s, q_d, dq_d, kp, kd, tau_ff)
        return replies

    @staticmethod
    def _unused_id(ch: _Channel, motor: VirtualMotor) -> int:
        limit = 16 if motor.protocol == "damiao" else 256  # Damiao replies carry the low nibble only
        used = {m.device_id % limit for m in ch.motors}
        return next(i for i in range(1, limit) if i not in used)

    # -- faults ------------------------------------------------------------------
    def inject(self, joint: int, fault: str, value: Any = -1) -> None:
        """Inject a fault into the motor of `joint`, effective from its next command.

        no_reply / wrong_id / garbled: value = number of replies affected (-1: until clear_faults());
        over_temperature: value = degC reported; error_code: value = the drive's code.
        """
        if fault not in FAULTS:
            raise ValueError(f"fault: unknown fault {fault!r}; allowed: {', '.join(FAULTS)}")
        self.sync()
        drive = next((d for d in self.drives() if d.joint == joint), None)
        if drive is not None:  # CiA 402: missing TPDOs, or a drive fault (EMCY + Fault state)
            if fault == "no_reply":
                if not (isinstance(value, int) and (value == -1 or value >= 0)):
                    raise ValueError(f"value: SYNCs unanswered must be an integer >= 0 or -1 (got {value!r})")
                drive.no_reply = value
            elif fault == "error_code":
                if not (isinstance(value, int) and 1 <= value <= 0xFFFF):
                    raise ValueError(f"value: CiA 402 error codes (0x603F / EMCY) are integers in 1..65535 "
                                     f"(got {value!r})")
                drive.pending_error = value
            else:
                raise ValueError(f"fault: {fault} does not apply to a CiA 402 drive; allowed: no_reply, error_code")
            return
        motor = self.motor(joint)
        if fault in ("no_reply", "wrong_id", "garbled"):
            if not (isinstance(value, int) and (value == -1 or value >= 0)):
                raise ValueError(f"value: replies affected must be an integer >= 0 or -1 (got {value!r})")
            setattr(motor, fault, value)
        elif fault == "over_temperature":
            if not P.has_temperature(motor.protocol):
                raise ValueError(f"fault: protocol {motor.protocol} reports no temperature; allowed for: "
                                 + ", ".join(p for p in P.PROTOCOLS if P.has_temperature(p)))
            motor.temperature_c = float(value)
        else:
            if not P.has_error_code(motor.protocol):
                raise ValueError(f"fault: protocol {motor.protocol} reports no error code; allowed for: "
                                 + ", ".join(p for p in P.PROTOCOLS if P.has_error_code(p)))
            allowed = {"damiao": (8, 14), "robstride": (1, 63), "cubemars": (1, 255)}[motor.protocol]
            if not (isinstance(value, int) and allowed[0] <= value <= allowed[1]):
                raise ValueError(f"value: {motor.protocol} error codes are integers in {allowed[0]}..{allowed[1]} "
                                 f"(got {value!r})")
            motor.error_code = value
        self._push_faults(motor)

    def clear_faults(self) -> None:
        self.sync()
        for m in self.motors():
            m.no_reply = m.wrong_id = m.garbled = 0
            m.temperature_c = None
            m.error_code = 0
            self._push_faults(m)
        for d in self.drives():
            d.no_reply = d.pending_error = 0

    # -- serving from C++ (real-time runs) ------------------------------------------
    @property
    def native(self) -> bool:
        """True while C++ responder threads serve the socketpair channels."""
        return bool(self._native)

    def serve_natively(self, priority: int = 0, cpu: int = -1) -> None:
        """Hand every socketpair channel, motor state and faults included, to one C++ thread each.

        priority > 0 asks for SCHED_FIFO (below the loop's own priority, as a motor's firmware
        answers independently of the host); refused quietly without the permission.
        """
        if self._native:
            return
        from .. import _core

        self.sync()
        self._stop_thread()
        for k, ch in enumerate(self._channels.values()):
            if ch.sock is None or ch.cia402:  # CiA 402 drives stay Python (served by the thread below)
                continue
            responder = _core.can.VirtualMotorResponder(ch.name, os.dup(ch.sock.fileno()), ch.fd_frames,
                                                        self.period_s, self.seed * 1000 + k)
            for m in ch.motors:
                responder.add_motor(_native_state(_core, m))
            responder.start(priority, cpu)
            self._native[ch.name] = responder
        if any(ch.sock is not None and ch.name not in self._native for ch in self._channels.values()):
            self.start()

    def serve_in_python(self) -> None:
        """Take the channels back from the C++ threads (state and counters) and serve them here."""
        if not self._native:
            return
        self._stop_thread()
        for name, responder in self._native.items():
            responder.sync()
            responder.stop()
        self._pull_native()
        for name, responder in self._native.items():
            ch = self._channels[name]
            counts = responder.statistics()
            ch.frames_in += counts["frames_in"]
            ch.frames_out += counts["frames_out"]
            ch.ignored += counts["ignored"]
        self._native = {}  # each responder closes its duplicate of the channel fd
        self.start()

    def _pull_native(self) -> None:
        for name, responder in self._native.items():
            by_joint = {m.joint: m for m in self._channels[name].motors}
            for state in responder.motors():
                m = by_joint[state.joint]
                m.q, m.dq, m.tau, m.enabled = state.q, state.dq, state.tau, state.enabled
                m.commands, m.zero_offset = state.commands, state.zero_offset
                m.no_reply, m.wrong_id, m.garbled = state.no_reply, state.wrong_id, state.garbled
                m.temperature_c = None if math.isnan(state.temperature_c) else state.temperature_c
                m.error_code = state.error_code

    def _push_faults(self, motor: VirtualMotor) -> None:
        for name, responder in self._native.items():
            if motor in self._channels[name].motors:
                responder.set_faults(motor.joint, motor.no_reply, motor.wrong_id, motor.garbled,
                                     math.nan if motor.temperature_c is None else motor.temperature_c,
                                     motor.error_code)

    # -- serving over socketpairs ------------------------------------------------
    def _serve_ready(self, channels: Iterable[_Channel]) -> None:
        for ch in channels:
            sock = ch.sock
            while True:
                try:
                    raw = sock.recv(CANFD_MTU)
                except BlockingIOError:
                    break
                if not raw:  # the host end is closed: nothing more will come, stop watching
                    ch.hung_up = True
                    break
                if len(raw) not in (CAN_MTU, CANFD_MTU):
                    ch.ignored += 1
                    continue
                raw_id, length = _HEADER.unpack_from(raw)[:2]
                extended = bool(raw_id & CAN_EFF_FLAG)
                can_id = raw_id & (CAN_EFF_MASK if extended else CAN_SFF_MASK)
                for reply in self.handle(ch, can_id, extended, raw[8:8 + length]):
                    sock.send(_pack(*reply, ch.fd_frames))
                    ch.frames_out += 1

    def _run(self) -> None:
        while True:
            by_fd = {ch.sock.fileno(): ch for ch in self._channels.values()
                     if ch.sock is not None and ch.name not in self._native and not ch.hung_up}
            readable, _, _ = select.select(list(by_fd) + [self._stop_r], [], [])  # socketpair channels only
            if self._stop_r in readable:
                if os.read(self._stop_r, 1) == b"s":
                    return
                continue  # a channel was added: watch it too
            with self._lock:
                self._serve_ready(by_fd[fd] for fd in readable)

    def ensure_running(self) -> None:
        """Start the serving thread, or make the running one watch channels added since."""
        if self._thread is None:
            self.start()
        elif self._thread is not None:
            os.write(self._stop_w, b"w")

    def start(self) -> "VirtualCanNetwork":
        """Serve the socketpair channels (those not served natively) from a background Python thread."""
        if self._thread:
            raise RuntimeError("virtual CAN network already started")
        self._stop_r, self._stop_w = os.pipe()
        # Replies are due within a fraction of a loop period; the default 5 ms GIL switch interval
        # would let any Python thread delay them by several periods.
        self._previous_switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(min(self._previous_switch_interval, 5e-5))
        self._thread = threading.Thread(target=self._run, name="virtual-can", daemon=True)
        self._thread.start()
        return self

    def sync(self, timeout: float = 5.0) -> None:
        """Return once every frame already sent to the motors has been answered."""
        for name, responder in self._native.items():
            if not responder.sync(timeout):
                raise TimeoutError(f"virtual CAN network: frames on {name} still unanswered")
        if self._thread is None:
            return
        import time

        deadline = time.monotonic() + timeout
        socks = [ch.sock for ch in self._channels.values()
                 if ch.sock is not None and ch.name not in self._native and not ch.hung_up]
        while True:
            with self._lock:
                readable, _, _ = select.select(socks, [], [], 0)
                if not readable:
                    return
            if time.monotonic() > deadline:
                raise TimeoutError("virtual CAN network: frames still unanswered")
            time.sleep(0.0002)

    def _stop_thread(self) -> None:
        if self._thread is not None:
            os.write(self._stop_w, b"s")
            self._thread.join(timeout=5)
            sys.setswitchinterval(self._previous_switch_interval)
            os.close(self._stop_r)
            os.close(self._stop_w)
            self._thread = None

    def close(self) -> None:
        for responder in self._native.values():
            responder.stop()
        self._native = {}
        self._stop_thread()
        for ch in self._channels.values():
            if ch.sock is not None:
                ch.sock.close()
                ch.sock = None

    def statistics(self) -> dict[str, dict[str, int]]:
        return {name: {"frames_in": ch.frames_in, "frames_out": ch.frames_out, "ignored": ch.ignored}
                for name, ch in self._channels.items()}

    # -- serving over python-can -------------------------------------------------
    def serve_python_can(self, bus, channel: str, *, stop: threading.Event, timeout: float = 0.05) -> None:
        """Answer the motors of `channel` on a python-can bus until `stop` is set (call from a thread)."""
        import can

        ch = self._channel(channel)
        sent: deque[tuple[int, bytes]] = deque(maxlen=256)  # udp_multicast delivers our own frames back
        while not stop.is_set():
            msg = bus.recv(timeout)
            if msg is None or msg.is_error_frame or msg.is_remote_frame:
                continue
            key = (msg.arbitration_id, bytes(msg.data))
            if key in sent:
                sent.remove(key)
                continue
            with self._lock:
                replies = self.handle(ch, msg.arbitration_id, msg.is_extended_id, bytes(msg.data))
            for can_id, extended, payload in replies:
                sent.append((can_id, payload))
                bus.send(can.Message(arbitration_id=can_id, is_extended_id=extended, data=payload,
                                     is_fd=ch.fd_frames, bitrate_switch=ch.fd_frames))
                ch.frames_out += 1


def _native_state(core, m: VirtualMotor):
    """The C++ responder's copy of a Python motor (identity, ranges, model, state, faults)."""
    st = core.can.VirtualMotorState()
    st.joint, st.protocol = m.joint, getattr(core.can.Protocol, m.protocol.upper())
    st.device_id, st.host_id = m.device_id, m.host_id
    r = m.ranges
    st.p_max, st.v_max, st.kp_max, st.kd_max, st.t_max = r.p_max, r.v_max, r.kp_max, r.kd_max, r.t_max
    model = core.can.VirtualMotorModel()
    for key, value in vars(m.model).items():
        setattr(model, key, value)
    st.model = model
    st.q, st.dq, st.tau, st.enabled, st.commands, st.zero_offset = m.q, m.dq, m.tau, m.enabled, m.commands, m.zero_offset
    st.no_reply, st.wrong_id, st.garbled = m.no_reply, m.wrong_id, m.garbled
    st.temperature_c = math.nan if m.temperature_c is None else m.temperature_c
    st.error_code = m.error_code
    return st
