"""CANopen CiA 402 drives: SDO configuration with `canopen`, and a virtual CiA 402 servo.

The C++ `Cia402Bus` (drivers/can/cia402.hpp) runs the cyclic exchange (RPDO + SYNC out, TPDOs
in) and the power state machine inside the loop. Before the loop starts, `configure_drives()`
talks SDO to every drive with the `canopen` package over the same channel (a python-can bus on
the socketpair, or SocketCAN): it checks the device profile, sets the mode of operation (0x6060)
and reads it back (0x6061), checks the rated torque (0x6076), writes the PDO mappings of
firmware_interfaces/can/cia402.md and starts the node (NMT operational). Then the C++ bus takes
the channel.

`VirtualCia402Drive` is the device end for tests and CI: the CANopen side of the one virtual
CiA 402 drive -- an expedited SDO server over the object dictionary of `cia402_servo.eds`, NMT,
synchronous PDOs as mapped by the host, EMCY and fault injection (no TPDOs, drive faults) --
around the C++ drive (`_core.can.Cia402VirtualDrive`, drivers/cia402/virtual_drive.hpp: the power
state machine, quick stop per 0x605A, the CSP / CSV / CST loops and the load), which the EtherCAT
virtual slave runs too.
"""

from __future__ import annotations

import functools
import os
import select
import socket
import struct
from dataclasses import dataclass
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
class VirtualCia402Drive:
    """A CiA 402 servo on a CAN channel: SDO server, NMT, synchronous PDOs, EMCY around the C++ drive.

    Position, velocity and torque are motor side in SI; the wire carries counts, counts/s and
    per mille of the rated torque. The drive's own loops (CSP position, CSV velocity) have a
    bandwidth of `bandwidth_hz` on the load of `model`; CST applies the target torque.
    """

    def __init__(self, node_id: int, counts_per_rad: float, rated_torque_nm: float, model: MotorModel | None = None,
                 joint: int = -1, q: float = 0.0, bandwidth_hz: float = 20.0, missing_objects: tuple[int, ...] = (),
                 supported_modes: tuple[int, ...] = (8, 9, 10)):
        if not (isinstance(node_id, int) and 1 <= node_id <= 127):
            raise ValueError(f"node_id: must be an integer in 1..127 (got {node_id!r})")
        from .. import _core

        self._core = _core.can
        self.node_id, self.joint = node_id, joint
        self.counts_per_rad, self.rated_torque_nm = counts_per_rad, rated_torque_nm
        self.model = model or MotorModel()
        self.bandwidth_hz = bandwidth_hz
        self.missing_objects, self.supported_modes = tuple(missing_objects), tuple(supported_modes)
        load = _core.can.Cia402DriveLoad()
        load.inertia_kgm2, load.viscous_nm_s_rad = self.model.inertia_kgm2, self.model.viscous_nm_s_rad
        load.coulomb_nm, load.torque_limit_nm = self.model.coulomb_nm, self.model.torque_limit_nm
        load.substeps, load.bandwidth_hz = self.model.substeps, bandwidth_hz
        self._drive = _core.can.Cia402VirtualDrive(load, q)
        self.nmt = "pre-operational"
        # Faults: SYNCs still to leave unanswered (-1 = until cleared); a drive fault to raise at the next SYNC.
        self.no_reply = 0
        self.pending_error = 0
        self.syncs = 0
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
        self._update_statusword()

    # -- the drive's state (read from the C++ drive) ---------------------------------
    @property
    def state(self) -> str:
        return self._drive.state.name.lower()

    @state.setter
    def state(self, name: str) -> None:  # tests that start from a given state
        self._drive.set_state(getattr(self._core.Cia402State, name.upper()))
        self._update_statusword()

    @property
    def q(self) -> float:
        return self._drive.q

    @property
    def dq(self) -> float:
        return self._drive.dq

    @property
    def tau(self) -> float:
        return self._drive.tau

    def apply_controlword(self, controlword: int) -> None:
        """The state machine acts on a controlword (at the SYNC), with this drive's 0x605A."""
        self._drive.controlword(controlword, self.values.get((0x605A, 0), 2))
        self._update_statusword()

    # -- helpers -----------------------------------------------------------------
    def _update_statusword(self) -> None:
        """The drive's state into its objects: statusword 0x6041, error code 0x603F, error register 0x1001."""
        self.values[(0x6041, 0)] = STATUSWORD[self.state]
        self.values[(0x603F, 0)] = self._drive.fault_code
        self.values[(0x1001, 0)] = 0x01 if self._drive.fault_code else 0

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
        raise_error = self.pending_error and self.state not in ("fault", "fault_reaction_active")
        self.apply_controlword(self.values[(0x6040, 0)])
        if raise_error:  # Fault reaction active now, Fault at the next SYNC
            self._drive.raise_fault(self.pending_error, False)
            self._update_statusword()
            replies.append((EMCY_BASE + self.node_id, False, struct.pack("<HB5x", self.pending_error, 0x01)))
            self.pending_error = 0
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
        mode = {8: self._core.Cia402Mode.CSP, 9: self._core.Cia402Mode.CSV}.get(self.values[(0x6061, 0)],
                                                                              self._core.Cia402Mode.CST)
        cpr = self.counts_per_rad
        self._drive.step(dt, mode, self.values[(0x607A, 0)] / cpr, self.values[(0x60FF, 0)] / cpr,
                         self.values[(0x6071, 0)] / 1000.0 * self.rated_torque_nm, float("inf"))

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


def configure_drives(bus, drives: list[DriveSetup], *, stop_category: int = 0, sdo_timeout_s: float = 0.3) -> None:
    """Configure every drive over SDO on the python-can `bus`, then start them (NMT operational).

    stop_category (the supervisor's `safety.estop_category`) sets the quick stop option code 0x605A
    as the C++ bus expects it (drivers/cia402/cia402.hpp, stop_reaction()).
    Raises Cia402ConfigError naming the joint, the node, the object and the value on the first problem.
    """
    import canopen

    from .. import _core
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
            option = _core.can.quick_stop_option_for_category(stop_category)
            write(0x605A, None, option, f"the quick stop option code (stop category {stop_category})")
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
