"""Virtual MIT-family motors: the device end of a CAN channel, for tests and CI without a robot.

The motors themselves -- model and device-side codec of every protocol of `protocols.PROTOCOLS`
-- are the C++ `VirtualMotorResponder` (drivers/can/virtual_motors.hpp, `_core.can`):

    I ddq = sat(tau_in, tau_max) - b dq - c sign(dq)
    tau_in = kp (q* - q) + kd (dq* - dq) + tau_ff     (in motor mode; 0 otherwise)

Every command frame advances a motor by exactly one loop period (`period_s`), after the reply
is sent: the reply carries the state the command found, as a real drive's does. Time is counted
in commands, never read from the wall clock, so stepped runs are exact.

A `VirtualCanNetwork` holds one responder per channel and moves the frames:
  - an AF_UNIX SOCK_SEQPACKET socketpair carrying `struct can_frame` / `canfd_frame`
    (`add_channel()` returns the other end's fd for the C++ `CanBus`), served by one
    background Python thread that hands each frame to the responder (`start()`, stepped runs),
    or -- for real-time runs, where replies are due within a quarter period -- by the
    responder's own C++ thread (`serve_natively()`, until `serve_in_python()`);
  - or any python-can bus (`serve_python_can()`: udp_multicast, or a real adapter such as can0).
CANopen channels carry `cia402.VirtualCia402Drive`s instead, served by the Python thread.

Fault injection (`inject()`): no reply, wrong device id, garbled payload, over-temperature,
error codes. It applies from the next command a motor receives: `sync()` first waits until
every frame already sent has been answered, so stepped tests know exactly which cycle it hits.
"""

from __future__ import annotations

import math
import os
import select
import socket
import struct
import sys
import threading
from collections import deque
from dataclasses import dataclass
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
    """Parameters of a virtual motor's model (motor side; see the module docstring)."""

    inertia_kgm2: float = 0.05
    viscous_nm_s_rad: float = 0.05
    coulomb_nm: float = 0.1
    torque_limit_nm: float = 18.0
    ambient_temperature_c: float = 35.0
    substeps: int = 4


class VirtualMotor:
    """One actuator on a channel, as its responder holds it (motor side: rad, rad/s, Nm).

    Every read asks the responder (call `VirtualCanNetwork.sync()` first for the state after the
    frames sent so far). The faults can be set here too, effective from the motor's next command:
    no_reply / wrong_id / garbled (replies still to affect, -1 = until cleared), temperature_c
    (injected; None = ambient) and error_code.
    """

    _STATE = ("joint", "device_id", "host_id", "q", "dq", "tau", "enabled", "commands", "zero_offset",
              "no_reply", "wrong_id", "garbled", "error_code")
    _FAULTS = ("no_reply", "wrong_id", "garbled", "temperature_c", "error_code")

    def __init__(self, responder, index: int, lock: threading.Lock):
        object.__setattr__(self, "_responder", responder)
        object.__setattr__(self, "_index", index)
        object.__setattr__(self, "_lock", lock)

    def _state(self):
        return self._responder.motors()[self._index]

    def __getattr__(self, name: str):
        if name in VirtualMotor._STATE:
            return getattr(self._state(), name)
        raise AttributeError(name)

    def __setattr__(self, name: str, value) -> None:
        if name not in VirtualMotor._FAULTS:
            raise AttributeError(f"{name}: only the faults can be set ({', '.join(VirtualMotor._FAULTS)})")
        faults = {key: getattr(self, key) for key in VirtualMotor._FAULTS}
        faults[name] = value
        with self._lock:
            self._responder.set_faults(self.joint, faults["no_reply"], faults["wrong_id"], faults["garbled"],
                                       math.nan if faults["temperature_c"] is None else float(faults["temperature_c"]),
                                       faults["error_code"])

    @property
    def protocol(self) -> str:
        return self._state().protocol.name.lower()

    @property
    def ranges(self) -> Ranges:
        st = self._state()
        return Ranges(st.p_max, st.v_max, st.kp_max, st.kd_max, st.t_max)

    @property
    def model(self) -> MotorModel:
        m = self._state().model
        return MotorModel(m.inertia_kgm2, m.viscous_nm_s_rad, m.coulomb_nm, m.torque_limit_nm,
                          m.ambient_temperature_c, m.substeps)

    @property
    def temperature_c(self) -> float | None:
        value = self._state().temperature_c
        return None if math.isnan(value) else value

    @property
    def reported_temperature(self) -> float:
        return self.model.ambient_temperature_c if self.temperature_c is None else self.temperature_c

    def __repr__(self) -> str:
        return (f"VirtualMotor({self.protocol} device {self.device_id}, joint {self.joint}: q={self.q:.6g} "
                f"dq={self.dq:.6g} tau={self.tau:.6g} enabled={self.enabled})")


def _motor_state(core, protocol: str, device_id: int, host_id: int, ranges: Ranges, model: MotorModel, joint: int,
                 q0: float):
    """The C++ `VirtualMotorState` of a new motor at rest at q0."""
    st = core.can.VirtualMotorState()
    st.joint, st.protocol = joint, getattr(core.can.Protocol, protocol.upper())
    st.device_id, st.host_id = device_id, host_id
    st.p_max, st.v_max, st.kp_max, st.kd_max, st.t_max = (ranges.p_max, ranges.v_max, ranges.kp_max, ranges.kd_max,
                                                          ranges.t_max)
    native_model = core.can.VirtualMotorModel()
    for key, value in vars(model).items():
        setattr(native_model, key, value)
    st.model = native_model
    st.q = q0
    return st


def _pack(can_id: int, extended: bool, payload: bytes, fd: bool) -> bytes:
    raw_id = can_id | (CAN_EFF_FLAG if extended else 0)
    header = _HEADER.pack(raw_id, len(payload), CANFD_BRS if fd else 0, 0, 0)
    size = CANFD_MTU if fd else CAN_MTU
    return (header + payload).ljust(size, b"\0")


class _Channel:
    def __init__(self, name: str, sock: socket.socket | None, fd_frames: bool, responder):
        self.name = name
        self.sock = sock
        self.fd_frames = fd_frames
        self.responder = responder  # C++ VirtualMotorResponder: the MIT-family motors of this channel
        self.command_ids: set[tuple[int, bool]] = set()  # the motors' command IDs (no two alike)
        self.joints: list[int] = []  # of the motors, in the order added
        self.cia402: dict[int, Any] = {}  # node id -> VirtualCia402Drive (CANopen channels)
        self.hung_up = False  # the host end was closed
        # Counted here: frames of CiA 402 channels, records too short to be frames, replies Python sent;
        # the responder counts the frames it served itself (statistics() adds both).
        self.frames_in = 0
        self.frames_out = 0
        self.ignored = 0


class VirtualCanNetwork:
    """Virtual motors on one or more channels, served by one Python thread or by C++ threads.

    Args:
        period_s: model time each command frame advances (the loop period).
        seed: seeds the garbled-payload generators (runs are reproducible).
    """

    def __init__(self, period_s: float, seed: int = 0):
        if not (period_s > 0 and math.isfinite(period_s)):
            raise ValueError(f"period_s: must be a finite number > 0 (got {period_s!r})")
        self.period_s = float(period_s)
        self.seed = seed
        self._channels: dict[str, _Channel] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._native: set[str] = set()  # channels whose responder's own C++ thread serves them
        self._stop_r, self._stop_w = None, None

    def _new_channel(self, name: str, sock: socket.socket | None, fd: bool) -> None:
        from .. import _core

        if name in self._channels:
            raise ValueError(f"channel: {name!r} already exists")
        # The responder reads a duplicate of the device end only while it serves natively.
        native_fd = -1 if sock is None else os.dup(sock.fileno())
        responder = _core.can.VirtualMotorResponder(name, native_fd, fd, self.period_s,
                                                    self.seed * 1000 + len(self._channels))
        self._channels[name] = _Channel(name, sock, fd, responder)

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
        self._new_channel(name, device_end, fd)
        return host_end.detach()

    def add_python_can_channel(self, name: str, *, fd: bool = False) -> None:
        """A channel served by serve_python_can() on a python-can bus instead of a socketpair."""
        self._new_channel(name, None, fd)

    def add_motor(self, channel: str, protocol: str, device_id: int, *, host_id: int | None = None,
                  ranges: Ranges | None = None, model: MotorModel | None = None, joint: int = -1,
                  q0: float = 0.0) -> VirtualMotor:
        from .. import _core

        ch = self._channel(channel)
        if protocol not in P.PROTOCOLS:
            raise ValueError(f"protocol: unknown protocol {protocol!r}; allowed: {', '.join(P.PROTOCOLS)}")
        if protocol in ("mit_reference", "cubemars", "damiao") and not 0 < device_id <= 0x7FF:
            raise ValueError(f"device_id: must be in 1..2047 for {protocol} (got {device_id})")
        if protocol in ("robstride", "myactuator") and not 0 < device_id <= 0xFF:
            raise ValueError(f"device_id: must be in 1..255 for {protocol} (got {device_id})")
        if ch.cia402:
            raise ValueError(f"channel: {channel!r} carries CiA 402 drives; MIT-family motors need their own")
        if ch.name in self._native:
            raise RuntimeError(f"channel: {channel!r} is served natively; add motors before serve_natively()")
        key = P.command_id(protocol, device_id)
        if key in ch.command_ids:
            raise ValueError(f"device_id: {device_id} ({protocol}) already on channel {channel!r}")
        host = P.default_host_id(protocol, device_id) if host_id is None else host_id
        with self._lock:
            ch.responder.add_motor(_motor_state(_core, protocol, device_id, host,
                                                ranges or P.DEFAULT_RANGES.get(protocol, Ranges()),
                                                model or MotorModel(), joint, q0))
        ch.command_ids.add(key)
        ch.joints.append(joint)
        return VirtualMotor(ch.responder, len(ch.joints) - 1, self._lock)

    def add_cia402_drive(self, channel: str, drive) -> Any:
        """Put a `cia402.VirtualCia402Drive` on a channel (CANopen and MIT devices do not share one)."""
        ch = self._channel(channel)
        if ch.joints:
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
        """Every motor, in the order added."""
        return [VirtualMotor(ch.responder, k, self._lock) for ch in self._channels.values() for k in range(len(ch.joints))]

    def motor(self, joint: int) -> VirtualMotor:
        """The motor standing for robot joint `joint` (call sync() before reading state)."""
        for m in self.motors():
            if m.joint == joint:
                return m
        raise KeyError(f"joint: no virtual motor for joint {joint}")

    # -- frames ------------------------------------------------------------------
    def handle(self, ch: _Channel, can_id: int, extended: bool, payload: bytes) -> list[tuple[int, bool, bytes]]:
        """Serve one received frame; returns the replies (CAN ID, extended, payload)."""
        if ch.cia402:
            ch.frames_in += 1
            replies, served = [], False
            for drive in ch.cia402.values():
                out = None if extended else drive.handle(can_id, payload, self.period_s)
                if out is not None:
                    served = True
                    replies += out
            if not served:
                ch.ignored += 1
            return replies
        return [tuple(reply) for reply in ch.responder.handle(can_id, extended, payload)]

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

    def clear_faults(self) -> None:
        self.sync()
        for m in self.motors():
            m.no_reply = m.wrong_id = m.garbled = 0
            m.temperature_c = None
            m.error_code = 0
        for d in self.drives():
            d.no_reply = d.pending_error = 0

    # -- serving from C++ (real-time runs) ------------------------------------------
    @property
    def native(self) -> bool:
        """True while C++ responder threads serve the socketpair channels."""
        return bool(self._native)

    def serve_natively(self, priority: int = 0, cpu: int = -1) -> None:
        """Serve every socketpair channel of motors from its responder's own C++ thread.

        priority > 0 asks for SCHED_FIFO (below the loop's own priority, as a motor's firmware
        answers independently of the host); refused quietly without the permission.
        """
        if self._native:
            return
        self.sync()
        self._stop_thread()
        for ch in self._channels.values():
            if ch.sock is None or ch.cia402:  # CiA 402 drives stay Python (served by the thread below)
                continue
            ch.responder.start(priority, cpu)
            self._native.add(ch.name)
        if any(ch.sock is not None and ch.name not in self._native for ch in self._channels.values()):
            self.start()

    def serve_in_python(self) -> None:
        """Stop the C++ threads once every frame sent is answered; serve the channels from Python again."""
        if not self._native:
            return
        self._stop_thread()
        for name in self._native:
            self._channels[name].responder.sync()
            self._channels[name].responder.stop()
        self._native = set()
        self.start()

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
                if len(raw) not in (CAN_MTU, CANFD_MTU):  # counted as the responder counts them
                    ch.frames_in += 1
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
        for name in self._native:
            if not self._channels[name].responder.sync(timeout):
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
        for name in self._native:
            self._channels[name].responder.stop()
        self._native = set()
        self._stop_thread()
        for ch in self._channels.values():
            if ch.sock is not None:
                ch.sock.close()
                ch.sock = None

    def statistics(self) -> dict[str, dict[str, int]]:
        """Per channel: frames received, replies sent, frames no device took (Python's and C++'s counts)."""
        out = {}
        for name, ch in self._channels.items():
            served = ch.responder.statistics()
            out[name] = {"frames_in": ch.frames_in + served["frames_in"],
                         "frames_out": ch.frames_out + served["frames_out"],
                         "ignored": ch.ignored + served["ignored"]}
        return out

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

