"""CANopen CiA 402 drives: SDO configuration with `canopen`, and a virtual CiA 402 servo.

The C++ `Cia402Bus` (drivers/can/cia402.hpp) runs the cyclic exchange (RPDO + SYNC out, TPDOs
in) and the power state machine inside the loop. Before the loop starts, `configure_drives()`
talks SDO to every drive with the `canopen` package over the same channel (a python-can bus on
the socketpair, or SocketCAN): it checks the device profile, sets the mode of operation (0x6060)
and reads it back (0x6061), checks the rated torque (0x6076), writes the PDO mappings of
firmware_interfaces/can/cia402.md and starts the node (NMT operational). Then the C++ bus takes
the channel.

`VirtualCia402Drive` is the device end for tests and CI: an expedited SDO server over the object
dictionary of `cia402_servo.eds`, NMT, synchronous PDOs as mapped by the host, the CiA 402 power
state machine, CSP / CSV / CST control loops on the motor model of the virtual MIT motors, and
fault injection (no TPDOs, drive faults with EMCY).
"""

from __future__ import annotations

import functools
import math
import os
import select
import socket
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import HumanoidRtError
from .virtual import CAN_EFF_FLAG, CAN_MTU, CANFD_MTU, MotorModel, _HEADER, _pack

__all__ = ["EDS_PATH", "MODES", "VirtualCia402Drive", "Cia402ConfigError", "configure_drives", "SocketpairBus",
           "STATUSWORD", "pdo_layout"]

EDS_PATH = Path(__file__).resolve().parent / "cia402_servo.eds"
#: Modes of operation (0x6060) by config name.
MODES = {"csp": 8, "csv": 9, "cst": 10}
#: Statusword per state (bits 0-3, 5, 6 as masked by CiA 402; bit 4 voltage enabled, bit 9 remote).
STATUSWORD = {"not_ready_to_switch_on": 0x0000, "switch_on_disabled": 0x0240, "ready_to_switch_on": 0x0231,
              "switched_on": 0x0233, "operation_enabled": 0x0237, "quick_stop_active": 0x0217,
              "fault_reaction_active": 0x021F, "fault": 0x0208}
SYNC, NMT, EMCY_BASE, TPDO1_BASE, TPDO2_BASE, RPDO1_BASE, SDO_TX_BASE, SDO_RX_BASE = (
    0x080, 0x000, 0x080, 0x180, 0x280, 0x200, 0x580, 0x600)

# SDO abort codes (CiA 301).
ABORT_COMMAND = 0x05040001
ABORT_WRITE_RO = 0x06010002
ABORT_READ_WO = 0x06010001
ABORT_NO_OBJECT = 0x06020000
ABORT_NOT_MAPPABLE = 0x06040041
ABORT_PDO_LENGTH = 0x06040042
ABORT_INCOMPATIBLE = 0x06040043
ABORT_LENGTH = 0x06070010
ABORT_NO_SUB = 0x06090011
ABORT_RANGE = 0x06090030
ABORT_TEXT = {ABORT_COMMAND: "command specifier not valid", ABORT_WRITE_RO: "attempt to write a read-only object",
              ABORT_READ_WO: "attempt to read a write-only object", ABORT_NO_OBJECT: "object does not exist",
              ABORT_NOT_MAPPABLE: "object cannot be mapped to the PDO", ABORT_PDO_LENGTH: "PDO length exceeded",
              ABORT_INCOMPATIBLE: "general parameter incompatibility", ABORT_LENGTH: "data type length mismatch",
              ABORT_NO_SUB: "sub-index does not exist", ABORT_RANGE: "value range of parameter exceeded"}

_FORMATS = {0x2: "<b", 0x3: "<h", 0x4: "<i", 0x5: "<B", 0x6: "<H", 0x7: "<I"}


def pdo_layout(mode: str) -> dict[int, list[int]]:
    """The PDO mappings (mapping object -> entries index<<16 | sub<<8 | bits) for a mode."""
    target = {"csp": 0x607A0020, "csv": 0x60FF0020, "cst": 0x60710010}[mode]
    return {0x1600: [0x60400010, target], 0x1A00: [0x60410010, 0x60640020, 0x60770010],
            0x1A01: [0x606C0020, 0x603F0010]}


@functools.lru_cache(maxsize=128)
def _eds_dictionary(node_id: int):
    """The EDS parsed for a node (read only: drives take types, access and defaults from it)."""
    import canopen

    return canopen.import_od(str(EDS_PATH), node_id)


# ------------------------------------------------------------------------------------------
# The virtual drive
# ------------------------------------------------------------------------------------------
@dataclass
class VirtualCia402Drive:
    """A CiA 402 servo on a CAN channel: SDO server, NMT, synchronous PDOs, state machine, model.

    Position, velocity and torque are motor side in SI; the wire carries counts, counts/s and
    per mille of the rated torque. The drive's own loops (CSP position, CSV velocity) have a
    bandwidth of `bandwidth_hz`; CST applies the target torque.
    """

    node_id: int
    counts_per_rad: float
    rated_torque_nm: float
    model: MotorModel = field(default_factory=MotorModel)
    joint: int = -1
    q: float = 0.0
    dq: float = 0.0
    tau: float = 0.0
    bandwidth_hz: float = 20.0
    missing_objects: tuple[int, ...] = ()  # objects this drive lacks (tests of SDO errors)
    supported_modes: tuple[int, ...] = (8, 9, 10)
    state: str = "switch_on_disabled"
    nmt: str = "pre-operational"
    # Faults: SYNCs still to leave unanswered (-1 = until cleared); a drive fault to raise at the next SYNC.
    no_reply: int = 0
    pending_error: int = 0
    syncs: int = 0

    def __post_init__(self):
        if not (isinstance(self.node_id, int) and 1 <= self.node_id <= 127):
            raise ValueError(f"node_id: must be an integer in 1..127 (got {self.node_id!r})")
        od = _eds_dictionary(self.node_id)
        self.objects: dict[tuple[int, int], Any] = {}  # (index, sub) -> canopen Variable
        self.values: dict[tuple[int, int], int] = {}
        for obj in od.values():
            if obj.index in self.missing_objects:
                continue
            variables = [obj] if not hasattr(obj, "subindices") else list(obj.subindices.values())
            for var in variables:
                self.objects[(obj.index, var.subindex)] = var
                self.values[(obj.index, var.subindex)] = int(var.default or 0)
        self.values[(0x6076, 0)] = int(round(self.rated_torque_nm * 1000))  # mNm
        self.values[(0x6502, 0)] = sum(1 << (m - 1) for m in self.supported_modes)
        self._rpdo: bytes | None = None
        self._last_controlword = 0
        self._fault_raised = False
        self._update_statusword()

    # -- helpers -----------------------------------------------------------------
    def _update_statusword(self) -> None:
        self.values[(0x6041, 0)] = STATUSWORD[self.state]

    def value(self, index: int, sub: int = 0) -> int:
        return self.values[(index, sub)]

    def _mapping(self, index: int) -> list[tuple[int, int, int]]:
        count = self.values.get((index, 0), 0)
        return [((e >> 16) & 0xFFFF, (e >> 8) & 0xFF, e & 0xFF)
                for e in (self.values.get((index, k), 0) for k in range(1, count + 1))]

    def _pdo_valid(self, comm: int) -> bool:
        return not (self.values.get((comm, 1), 0x80000000) & 0x80000000)

    # -- SDO server (expedited transfers: every object of this profile fits in 4 bytes) --------
    def sdo(self, data: bytes) -> bytes | None:
        if len(data) != 8:
            return None
        command = data[0] >> 5
        index, sub = struct.unpack_from("<HB", data, 1)
        if command == 4:  # abort from the client
            return None
        if command not in (1, 2):
            return self._abort(index, sub, ABORT_COMMAND)
        var = self.objects.get((index, sub))
        if var is None:
            has_object = any(i == index for i, _ in self.objects)
            return self._abort(index, sub, ABORT_NO_SUB if has_object else ABORT_NO_OBJECT)
        fmt = _FORMATS[var.data_type]
        size = struct.calcsize(fmt)
        if command == 2:  # upload
            if var.access_type == "wo":
                return self._abort(index, sub, ABORT_READ_WO)
            value = self.values[(index, sub)]
            payload = struct.pack(fmt, value)
            return bytes((0x43 | ((4 - size) << 2), *data[1:4])) + payload.ljust(4, b"\0")
        # download
        if not data[0] & 0x02:
            return self._abort(index, sub, ABORT_COMMAND)  # segmented: nothing here needs it
        if data[0] & 0x01 and 4 - ((data[0] >> 2) & 3) != size:
            return self._abort(index, sub, ABORT_LENGTH)
        if var.access_type in ("ro", "const"):
            return self._abort(index, sub, ABORT_WRITE_RO)
        value = struct.unpack_from(fmt, data[4:4 + size].ljust(size, b"\0"))[0]
        code = self._check_write(index, sub, value)
        if code:
            return self._abort(index, sub, code)
        self.values[(index, sub)] = value
        if index == 0x6060:
            self.values[(0x6061, 0)] = value
        return bytes((0x60, *data[1:4])) + b"\0" * 4

    def _check_write(self, index: int, sub: int, value: int) -> int:
        if index == 0x6060 and value not in self.supported_modes:
            return ABORT_RANGE
        if index == 0x6076 and value <= 0:
            return ABORT_RANGE
        if index in (0x1600, 0x1A00, 0x1A01):
            comm = {0x1600: 0x1400, 0x1A00: 0x1800, 0x1A01: 0x1801}[index]
            if self._pdo_valid(comm):
                return ABORT_INCOMPATIBLE  # mapping changes only while the PDO is disabled
            if sub == 0:
                entries = [self.values.get((index, k), 0) for k in range(1, value + 1)] if value <= 4 else None
                if entries is None:
                    return ABORT_RANGE
                if sum(e & 0xFF for e in entries) > 64:
                    return ABORT_PDO_LENGTH
            elif self.values.get((index, 0), 0) != 0:
                return ABORT_INCOMPATIBLE  # entries only while the count is 0
            else:
                target = self.objects.get(((value >> 16) & 0xFFFF, (value >> 8) & 0xFF))
                if target is None:
                    return ABORT_NO_OBJECT
                if not target.pdo_mappable or struct.calcsize(_FORMATS[target.data_type]) * 8 != value & 0xFF:
                    return ABORT_NOT_MAPPABLE
        return 0

    def _abort(self, index: int, sub: int, code: int) -> bytes:
        return struct.pack("<BHBI", 0x80, index, sub, code)

    # -- NMT, PDO, SYNC ----------------------------------------------------------
    def on_nmt(self, data: bytes) -> None:
        if len(data) == 2 and data[1] in (0, self.node_id):
            self.nmt = {0x01: "operational", 0x02: "stopped", 0x80: "pre-operational",
                        0x81: "pre-operational", 0x82: "pre-operational"}.get(data[0], self.nmt)

    def on_rpdo(self, data: bytes) -> None:
        if self.nmt == "operational" and self._pdo_valid(0x1400):
            self._rpdo = bytes(data)  # applied at the next SYNC (synchronous RPDO)

    def on_sync(self, period_s: float) -> list[tuple[int, bool, bytes]]:
        """Apply the last RPDO, run the state machine, answer with TPDOs, then advance the model."""
        if self.nmt != "operational":
            return []
        self.syncs += 1
        if self._rpdo is not None:
            self._unpack(self._mapping(0x1600), self._rpdo)
            self._rpdo = None
        replies: list[tuple[int, bool, bytes]] = []
        controlword = self.values[(0x6040, 0)]
        if self.pending_error and self.state not in ("fault", "fault_reaction_active"):
            self.state = "fault_reaction_active"
            self.values[(0x603F, 0)] = self.pending_error
            self.values[(0x1001, 0)] = 0x01
            replies.append((EMCY_BASE + self.node_id, False, struct.pack("<HB5x", self.pending_error, 0x01)))
            self.pending_error = 0
        elif self.state == "fault_reaction_active":
            self.state = "fault"  # the reaction (torque off) is done within one cycle
        else:
            self._transition(controlword)
        self._last_controlword = controlword
        self._update_statusword()
        cpr = self.counts_per_rad
        self.values[(0x6064, 0)] = _i32(round(self.q * cpr))
        self.values[(0x606C, 0)] = _i32(round(self.dq * cpr))
        self.values[(0x6077, 0)] = _i16(round(self.tau / self.rated_torque_nm * 1000.0))
        if self.no_reply:
            self.no_reply -= self.no_reply > 0
        else:
            for comm, mapping in ((0x1800, 0x1A00), (0x1801, 0x1A01)):
                if self._pdo_valid(comm):
                    replies.append((self.values[(comm, 1)] & 0x7FF, False, self._pack(self._mapping(mapping))))
        self._advance(period_s)
        return replies

    def _transition(self, cw: int) -> None:
        s = self.state
        rising_reset = cw & 0x80 and not self._last_controlword & 0x80
        if s == "fault":
            if rising_reset:
                self.state = "switch_on_disabled"
                self.values[(0x603F, 0)] = 0
                self.values[(0x1001, 0)] = 0
            return
        if cw & 0x80:
            return  # fault reset outside Fault: no transition
        disable_voltage = not cw & 0x02
        quick_stop = cw & 0x06 == 0x02
        shutdown = cw & 0x87 == 0x06
        switch_on = cw & 0x8F == 0x07
        enable = cw & 0x8F == 0x0F
        if s == "not_ready_to_switch_on":
            self.state = "switch_on_disabled"
        elif s == "switch_on_disabled":
            if shutdown:
                self.state = "ready_to_switch_on"
        elif s == "ready_to_switch_on":
            if disable_voltage or quick_stop:
                self.state = "switch_on_disabled"
            elif switch_on:
                self.state = "switched_on"
            elif enable:
                self.state = "operation_enabled"
        elif s == "switched_on":
            if disable_voltage or quick_stop:
                self.state = "switch_on_disabled"
            elif shutdown:
                self.state = "ready_to_switch_on"
            elif enable:
                self.state = "operation_enabled"
        elif s == "operation_enabled":
            if disable_voltage:
                self.state = "switch_on_disabled"
            elif quick_stop:
                self.state = "quick_stop_active"
            elif shutdown:
                self.state = "ready_to_switch_on"
            elif switch_on:
                self.state = "switched_on"
        elif s == "quick_stop_active":
            if disable_voltage:
                self.state = "switch_on_disabled"
            elif abs(self.dq) < 1e-3:  # quick stop option code 2: stopped on the ramp -> switch on disabled
                self.state = "switch_on_disabled"

    def _unpack(self, mapping, data: bytes) -> None:
        offset = 0
        for index, sub, bits in mapping:
            var = self.objects.get((index, sub))
            size = bits // 8
            if var is None or offset + size > len(data):
                return
            self.values[(index, sub)] = struct.unpack_from(_FORMATS[var.data_type], data, offset)[0]
            offset += size

    def _pack(self, mapping) -> bytes:
        return b"".join(struct.pack(_FORMATS[self.objects[(i, s)].data_type], self.values[(i, s)])
                        for i, s, _ in mapping)

    def _advance(self, dt: float) -> None:
        m = self.model
        inertia = m.inertia_kgm2
        w = 2 * math.pi * self.bandwidth_hz
        kp, kd = inertia * w * w, 2 * inertia * w  # the drive's own position loop (critically damped)
        mode = self.values[(0x6061, 0)]
        cpr = self.counts_per_rad
        h = dt / m.substeps
        total = 0.0
        for _ in range(m.substeps):
            if self.state == "operation_enabled":
                if mode == 8:
                    tau = kp * (self.values[(0x607A, 0)] / cpr - self.q) - kd * self.dq
                elif mode == 9:
                    tau = kd * (self.values[(0x60FF, 0)] / cpr - self.dq)
                else:
                    tau = self.values[(0x6071, 0)] / 1000.0 * self.rated_torque_nm
            elif self.state == "quick_stop_active":
                tau = -kd * self.dq  # decelerate on the quick-stop ramp
            else:
                tau = 0.0
            tau = max(-m.torque_limit_nm, min(m.torque_limit_nm, tau))
            total += tau
            v = (self.dq + h / inertia * tau) / (1.0 + h * m.viscous_nm_s_rad / inertia)
            coulomb_dv = m.coulomb_nm * h / inertia
            v = 0.0 if abs(v) <= coulomb_dv else v - math.copysign(coulomb_dv, v)
            self.dq = v
            self.q += h * v
        self.tau = total / m.substeps

    # -- the frame entry point -----------------------------------------------------
    def handle(self, can_id: int, payload: bytes, period_s: float) -> list[tuple[int, bool, bytes]] | None:
        """Serve a frame addressed to this drive; None when it is not."""
        if can_id == NMT:
            self.on_nmt(payload)
            return []
        if can_id == SDO_RX_BASE + self.node_id:
            reply = self.sdo(payload)
            return [] if reply is None else [(SDO_TX_BASE + self.node_id, False, reply)]
        if can_id == RPDO1_BASE + self.node_id:
            self.on_rpdo(payload)
            return []
        if can_id == SYNC:
            return self.on_sync(period_s)
        return None


def _i32(x: int) -> int:
    return max(-(1 << 31), min((1 << 31) - 1, int(x)))


def _i16(x: int) -> int:
    return max(-(1 << 15), min((1 << 15) - 1, int(x)))


# ------------------------------------------------------------------------------------------
# SDO configuration from the host, with canopen
# ------------------------------------------------------------------------------------------
class Cia402ConfigError(HumanoidRtError, RuntimeError):
    """A drive refused or lacked something the configuration needs; the message names it."""


def _socketpair_bus_class():
    import can

    class SocketpairBus(can.BusABC):
        """python-can bus on one end of a SOCK_SEQPACKET socketpair carrying can_frame / canfd_frame
        records (the same channel the C++ bus uses; a duplicate of the fd, closed on shutdown)."""

        def __init__(self, fd: int, fd_frames: bool = False, **kwargs):
            self._sock = socket.socket(fileno=os.dup(fd))
            self._sock.setblocking(False)
            self._fd_frames = fd_frames
            self.channel_info = "socketpair"
            super().__init__(channel="socketpair", **kwargs)

        def _recv_internal(self, timeout):
            if self._sock is None:
                return None, False
            ready, _, _ = select.select([self._sock], [], [], timeout)
            if not ready:
                return None, False
            try:
                raw = self._sock.recv(CANFD_MTU)
            except (BlockingIOError, OSError):
                return None, False
            if len(raw) not in (CAN_MTU, CANFD_MTU):
                return None, False
            raw_id, length = _HEADER.unpack_from(raw)[:2]
            extended = bool(raw_id & CAN_EFF_FLAG)
            msg = can.Message(arbitration_id=raw_id & (0x1FFFFFFF if extended else 0x7FF), is_extended_id=extended,
                              data=raw[8:8 + length], is_fd=len(raw) == CANFD_MTU)
            return msg, False

        def send(self, msg, timeout=None):
            self._sock.send(_pack(msg.arbitration_id, msg.is_extended_id, bytes(msg.data), self._fd_frames))

        def shutdown(self):
            if self._sock is not None:
                self._sock.close()
                self._sock = None
            super().shutdown()

    return SocketpairBus


def SocketpairBus(fd: int, fd_frames: bool = False, **kwargs):  # noqa: N802 (a class, built lazily)
    return _socketpair_bus_class()(fd, fd_frames, **kwargs)


@dataclass(frozen=True)
class DriveSetup:
    joint: int
    joint_name: str
    node_id: int
    mode: str
    rated_torque_nm: float


def _describe(error: Exception) -> str:
    code = getattr(error, "code", None)
    if code is not None:
        return f"SDO abort 0x{code:08X} ({ABORT_TEXT.get(code, 'see CiA 301')})"
    return str(error) or type(error).__name__


def configure_drives(bus, drives: list[DriveSetup], *, sdo_timeout_s: float = 0.3) -> None:
    """Configure every drive over SDO on the python-can `bus`, then start them (NMT operational).

    Raises Cia402ConfigError naming the joint, the node, the object and the value on the first problem.
    """
    import canopen
    from canopen.sdo.exceptions import SdoAbortedError, SdoCommunicationError

    network = canopen.Network(bus)
    network.NOTIFIER_CYCLE = 0.02  # the notifier's recv timeout: disconnect() waits for it
    network.connect()
    try:
        for d in drives:
            node = network.add_node(d.node_id, str(EDS_PATH))
            node.sdo.RESPONSE_TIMEOUT = sdo_timeout_s
            node.sdo.MAX_RETRIES = 0
            where = f"CiA 402 drive of joint {d.joint_name} (node {d.node_id})"

            def write(index: int, sub: int | None, value: int, what: str) -> None:
                try:
                    (node.sdo[index] if sub is None else node.sdo[index][sub]).raw = value
                except SdoAbortedError as error:
                    raise Cia402ConfigError(f"{where}: setting {what} (0x{index:04X}"
                                            f"{'' if sub is None else f' sub {sub}'}) = {value:#x}: "
                                            f"{_describe(error)}") from None

            def read(index: int, what: str) -> int:
                try:
                    return node.sdo[index].raw
                except SdoAbortedError as error:
                    raise Cia402ConfigError(f"{where}: reading {what} (0x{index:04X}): {_describe(error)}") from None

            try:
                device_type = read(0x1000, "the device type")
            except SdoCommunicationError as error:
                raise Cia402ConfigError(f"{where}: no SDO answer ({error}); check power, wiring and the node id "
                                        f"(joints[..].device_id)") from None
            if device_type & 0xFFFF != 402:
                raise Cia402ConfigError(f"{where}: device type 0x{device_type:08X} is not a CiA 402 drive "
                                        "(profile 402 in the low 16 bits)")
            supported = read(0x6502, "the supported drive modes")
            mode = MODES[d.mode]
            if not supported & (1 << (mode - 1)):
                names = [name for name, m in MODES.items() if supported & (1 << (m - 1))]
                raise Cia402ConfigError(f"{where}: mode {d.mode} is not supported by the drive (0x6502 = "
                                        f"0x{supported:08X}); joints[..].can.mode allowed for it: "
                                        f"{', '.join(names) or 'none of csp, csv, cst'}")
            write(0x6060, None, mode, f"the mode of operation ({d.mode})")
            shown = read(0x6061, "the mode of operation display")
            if shown != mode:
                raise Cia402ConfigError(f"{where}: mode of operation display 0x6061 = {shown} after setting "
                                        f"{mode} ({d.mode})")
            rated_mnm = read(0x6076, "the motor rated torque")
            if abs(rated_mnm - d.rated_torque_nm * 1000) > max(1.0, 1e-3 * rated_mnm):
                raise Cia402ConfigError(f"{where}: can.rated_torque_nm is {d.rated_torque_nm:g} Nm but the drive's "
                                        f"0x6076 is {rated_mnm} mNm; set can.rated_torque_nm to {rated_mnm / 1000:g}")
            comm_of = {0x1600: (0x1400, RPDO1_BASE), 0x1A00: (0x1800, TPDO1_BASE), 0x1A01: (0x1801, TPDO2_BASE)}
            for mapping, entries in pdo_layout(d.mode).items():
                comm, base = comm_of[mapping]
                write(comm, 1, 0x80000000 | (base + d.node_id), "the PDO COB-ID (disabled)")
                write(mapping, 0, 0, "the PDO mapping count")
                for k, entry in enumerate(entries, start=1):
                    write(mapping, k, entry, f"PDO mapping entry {k} (object 0x{entry >> 16:04X})")
                write(mapping, 0, len(entries), "the PDO mapping count")
                write(comm, 2, 1, "the PDO transmission type (synchronous, every SYNC)")
                write(comm, 1, base + d.node_id, "the PDO COB-ID (enabled)")
            node.nmt.send_command(0x01)  # start remote node
    finally:
        network.disconnect()
