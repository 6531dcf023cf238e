"""The virtual CiA 402 servo drive behind each emulated EtherCAT slave.

Object dictionary subset, PDO layouts and the drive state machine, as
documented in firmware_interfaces/ethercat/README.md. Units on the wire:
position in encoder counts, velocity in counts/s, torque in per mille of the
rated torque (0x6076, mNm). The load is a rigid inertia with viscous friction,
stepped once per process-data frame with the configured cycle period, so a
stepped master sees exactly the same trajectory every run.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

# --- CiA 402 states and statusword values (mask, value) -----------------------------------------
SWITCH_ON_DISABLED = "SWITCH_ON_DISABLED"
READY_TO_SWITCH_ON = "READY_TO_SWITCH_ON"
SWITCHED_ON = "SWITCHED_ON"
OPERATION_ENABLED = "OPERATION_ENABLED"
QUICK_STOP_ACTIVE = "QUICK_STOP_ACTIVE"
FAULT_REACTION_ACTIVE = "FAULT_REACTION_ACTIVE"
FAULT = "FAULT"

STATUSWORD = {
    SWITCH_ON_DISABLED: 0x0040,
    READY_TO_SWITCH_ON: 0x0021,
    SWITCHED_ON: 0x0023,
    OPERATION_ENABLED: 0x0027,
    QUICK_STOP_ACTIVE: 0x0007,
    FAULT_REACTION_ACTIVE: 0x000F,
    FAULT: 0x0008,
}
SW_VOLTAGE_ENABLED = 0x0010
SW_REMOTE = 0x0200

MODE_CSP, MODE_CSV, MODE_CST = 8, 9, 10

# --- PDO layouts: (index, subindex, bit length, struct code) -------------------------------------
RXPDO = {
    0x1600: [(0x6040, 0, 16, "H"), (0x607A, 0, 32, "i"), (0x60B1, 0, 32, "i"), (0x60B2, 0, 16, "h"),
             (0x6060, 0, 8, "b"), (0x0000, 0, 8, "x")],                                   # CSP
    0x1601: [(0x6040, 0, 16, "H"), (0x60FF, 0, 32, "i"), (0x60B2, 0, 16, "h"), (0x6060, 0, 8, "b"),
             (0x0000, 0, 8, "x")],                                                          # CSV
    0x1602: [(0x6040, 0, 16, "H"), (0x6071, 0, 16, "h"), (0x6060, 0, 8, "b"), (0x0000, 0, 8, "x")],  # CST
}
TXPDO = {
    0x1A00: [(0x6041, 0, 16, "H"), (0x6064, 0, 32, "i"), (0x606C, 0, 32, "i"), (0x6077, 0, 16, "h"),
             (0x6061, 0, 8, "b"), (0x0000, 0, 8, "x"), (0x603F, 0, 16, "H")],
}
RXPDO_FOR_MODE = {MODE_CSP: 0x1600, MODE_CSV: 0x1601, MODE_CST: 0x1602}


def pdo_struct(entries) -> struct.Struct:
    return struct.Struct("<" + "".join(code for *_, code in entries))


def pdo_bytes(entries) -> int:
    return sum(bits for _, _, bits, _ in entries) // 8


# Object dictionary: (index, sub) -> [struct code, value, writable]
def _default_od(vendor_id: int, product_code: int, rated_torque_mnm: int, counts_per_rev: int) -> dict:
    od: dict[tuple[int, int], list] = {
        (0x1000, 0): ["I", 0x00020192, False],  # device type: CiA 402 servo
        (0x1001, 0): ["B", 0, False],            # error register
        (0x1008, 0): ["s", b"hrt virtual CiA402 drive", False],
        (0x1018, 0): ["B", 4, False],
        (0x1018, 1): ["I", vendor_id, False],
        (0x1018, 2): ["I", product_code, False],
        (0x1018, 3): ["I", 1, False],
        (0x1018, 4): ["I", 0, False],
        (0x1C00, 0): ["B", 4, False],
        (0x1C00, 1): ["B", 1, False],
        (0x1C00, 2): ["B", 2, False],
        (0x1C00, 3): ["B", 3, False],
        (0x1C00, 4): ["B", 4, False],
        (0x1C12, 0): ["B", 1, True],
        (0x1C12, 1): ["H", 0x1600, True],
        (0x1C13, 0): ["B", 1, True],
        (0x1C13, 1): ["H", 0x1A00, True],
        (0x603F, 0): ["H", 0, False],
        (0x6040, 0): ["H", 0, True],
        (0x6041, 0): ["H", STATUSWORD[SWITCH_ON_DISABLED], False],
        (0x605A, 0): ["h", 2, True],             # quick stop option code
        (0x6060, 0): ["b", MODE_CSP, True],
        (0x6061, 0): ["b", MODE_CSP, False],
        (0x6064, 0): ["i", 0, False],
        (0x606C, 0): ["i", 0, False],
        (0x6071, 0): ["h", 0, True],
        (0x6072, 0): ["H", 3000, True],          # max torque, per mille of rated
        (0x6076, 0): ["I", rated_torque_mnm, False],
        (0x6077, 0): ["h", 0, False],
        (0x607A, 0): ["i", 0, True],
        (0x608F, 0): ["B", 2, False],
        (0x608F, 1): ["I", counts_per_rev, False],  # encoder increments
        (0x608F, 2): ["I", 1, False],               # per motor revolution
        (0x60B1, 0): ["i", 0, True],
        (0x60B2, 0): ["h", 0, True],
        (0x60FF, 0): ["i", 0, True],
        (0x6502, 0): ["I", (1 << 7) | (1 << 8) | (1 << 9), False],  # supported modes: CSP, CSV, CST
    }
    for table in (RXPDO, TXPDO):
        for index, entries in table.items():
            od[(index, 0)] = ["B", len(entries), False]
            for sub, (obj, obj_sub, bits, _) in enumerate(entries, start=1):
                od[(index, sub)] = ["I", (obj << 16) | (obj_sub << 8) | bits, False]
    return od


@dataclass
class DriveParams:
    vendor_id: int = 0x00000E7A         # an arbitrary test vendor id, documented in firmware_interfaces
    product_code: int = 0x0402_0001
    rated_torque_mnm: int = 50_000      # 50 Nm motor-side rated torque
    counts_per_rev: int = 1 << 20       # 20-bit encoder
    inertia_kgm2: float = 0.05          # motor-side
    viscous_nm_s_rad: float = 0.05


class SdoAbort(Exception):
    def __init__(self, code: int):
        super().__init__(f"SDO abort 0x{code:08X}")
        self.code = code


ABORT_NO_OBJECT = 0x06020000
ABORT_NO_SUBINDEX = 0x06090011
ABORT_READ_ONLY = 0x06010002
ABORT_VALUE_RANGE = 0x06090030
ABORT_LENGTH = 0x06070010
ABORT_STATE = 0x08000022
ABORT_UNSUPPORTED = 0x06010000


class Cia402Drive:
    """One drive: object dictionary, state machine and a rigid load. Not thread-safe (one emulator thread)."""

    def __init__(self, params: DriveParams, period_s: float):
        self.params = params
        self.period_s = period_s
        self.od = _default_od(params.vendor_id, params.product_code, params.rated_torque_mnm, params.counts_per_rev)
        self.state = SWITCH_ON_DISABLED
        self.q = 0.0        # motor-side position [rad]
        self.dq = 0.0       # [rad/s]
        self.tau = 0.0      # applied torque [Nm]
        self.last_controlword = 0
        self.fault_code = 0           # 0x603F while in FAULT
        self.fault_cause = 0          # an injected cause that persists until cleared (a reset will not clear it)
        self.frozen_counts: int | None = None
        self.qs_option = 2
        self.cycles = 0

    # ------------------------------------------------------------ object dictionary (mailbox side)
    def sdo_read(self, index: int, sub: int) -> bytes:
        entry = self.od.get((index, sub))
        if entry is None:
            raise SdoAbort(ABORT_NO_SUBINDEX if (index, 0) in self.od else ABORT_NO_OBJECT)
        code, value, _ = entry
        if code == "s":
            return value
        return struct.pack("<" + code, value)

    def sdo_write(self, index: int, sub: int, data: bytes, al_state: int) -> None:
        entry = self.od.get((index, sub))
        if entry is None:
            raise SdoAbort(ABORT_NO_SUBINDEX if (index, 0) in self.od else ABORT_NO_OBJECT)
        code, _, writable = entry
        if not writable:
            raise SdoAbort(ABORT_READ_ONLY)
        size = struct.calcsize("<" + code)
        if len(data) < size:
            raise SdoAbort(ABORT_LENGTH)
        (value,) = struct.unpack("<" + code, data[:size])
        if index in (0x1C12, 0x1C13):
            if al_state != 2:  # PDO assignment only in PRE-OP
                raise SdoAbort(ABORT_STATE)
            allowed = RXPDO if index == 0x1C12 else TXPDO
            if sub == 0 and value not in (0, 1):
                raise SdoAbort(ABORT_VALUE_RANGE)
            if sub == 1:
                if self.od[(index, 0)][1] != 0:
                    raise SdoAbort(ABORT_STATE)  # sub 0 must be 0 while the list is edited
                if value not in allowed:
                    raise SdoAbort(ABORT_VALUE_RANGE)
        if index == 0x6060 and value not in (MODE_CSP, MODE_CSV, MODE_CST):
            raise SdoAbort(ABORT_VALUE_RANGE)
        entry[1] = value
        if index == 0x605A:
            self.qs_option = value

    # ------------------------------------------------------------ process data
    def rx_entries(self):
        return RXPDO[self.od[(0x1C12, 1)][1]] if self.od[(0x1C12, 0)][1] else []

    def tx_entries(self):
        return TXPDO[self.od[(0x1C13, 1)][1]] if self.od[(0x1C13, 0)][1] else []

    def inject_fault(self, code: int, persistent: bool) -> None:
        self.fault_code = code
        self.fault_cause = code if persistent else 0
        if self.state != FAULT:
            self.state = FAULT_REACTION_ACTIVE

    def clear_fault_cause(self) -> None:
        self.fault_cause = 0

    def _controlword(self, cw: int) -> None:
        rising_reset = (cw & 0x80) and not (self.last_controlword & 0x80)
        self.last_controlword = cw
        s = self.state
        if s == FAULT_REACTION_ACTIVE:
            self.state = FAULT
            return
        if s == FAULT:
            if rising_reset and not self.fault_cause:
                self.state = SWITCH_ON_DISABLED
                self.fault_code = 0
            return
        if cw & 0x82 == 0x00:                      # disable voltage
            self.state = SWITCH_ON_DISABLED
        elif cw & 0x86 == 0x02:                    # quick stop
            if s == OPERATION_ENABLED:
                self.state = QUICK_STOP_ACTIVE if self.qs_option != 0 else SWITCH_ON_DISABLED
            elif s in (READY_TO_SWITCH_ON, SWITCHED_ON):
                self.state = SWITCH_ON_DISABLED
        elif cw & 0x87 == 0x06:                    # shutdown
            if s in (SWITCH_ON_DISABLED, SWITCHED_ON, OPERATION_ENABLED):
                self.state = READY_TO_SWITCH_ON
        elif cw & 0x8F == 0x07:                    # switch on / disable operation
            if s in (READY_TO_SWITCH_ON, OPERATION_ENABLED):
                self.state = SWITCHED_ON
        elif cw & 0x8F == 0x0F:                    # enable operation
            if s == SWITCHED_ON or (s == QUICK_STOP_ACTIVE and self.qs_option in (5, 6)):
                self.state = OPERATION_ENABLED
            elif s == READY_TO_SWITCH_ON:
                self.state = SWITCHED_ON

    def exchange(self, outputs: bytes | None, operational: bool) -> bytes:
        """One process-data cycle: apply outputs (OP only), step the load, return the inputs."""
        od = self.od
        rated_nm = od[(0x6076, 0)][1] / 1000.0
        counts_per_rad = od[(0x608F, 1)][1] / od[(0x608F, 2)][1] / (2 * math.pi)
        rx = self.rx_entries()
        if outputs is not None and operational and rx:
            values = pdo_struct(rx).unpack(outputs[:pdo_bytes(rx)])
            named = {obj: v for (obj, _, _, code), v in zip((e for e in rx if e[3] != "x"), values)}
            for obj, value in named.items():
                od[(obj, 0)][1] = value
            self._controlword(named.get(0x6040, 0))
        elif not operational and self.state == OPERATION_ENABLED:
            self.state = SWITCH_ON_DISABLED  # leaving OP: outputs are invalid, the power stage goes off
        mode = od[(0x6060, 0)][1]
        od[(0x6061, 0)][1] = mode
        dt = self.period_s
        p = self.params
        max_tau = od[(0x6072, 0)][1] / 1000.0 * rated_nm
        q_prev = self.q
        if self.state == OPERATION_ENABLED and mode == MODE_CSP:
            self.q = od[(0x607A, 0)][1] / counts_per_rad
            self.dq = (self.q - q_prev) / dt
            self.tau = 0.0
        elif self.state == OPERATION_ENABLED and mode == MODE_CSV:
            self.dq = od[(0x60FF, 0)][1] / counts_per_rad
            self.q += self.dq * dt
            self.tau = 0.0
        else:
            if self.state == OPERATION_ENABLED:  # CST
                tau = od[(0x6071, 0)][1] / 1000.0 * rated_nm
            elif self.state == QUICK_STOP_ACTIVE:  # brake on the quick-stop ramp
                tau = -p.inertia_kgm2 * self.dq / max(dt, 0.02)
                if abs(self.dq) < 1e-3 and self.qs_option in (1, 2):
                    self.state = SWITCH_ON_DISABLED
            else:
                tau = 0.0
            tau = max(-max_tau, min(max_tau, tau))
            # Semi-implicit Euler with implicit viscous friction.
            self.dq = (self.dq + dt * tau / p.inertia_kgm2) / (1.0 + dt * p.viscous_nm_s_rad / p.inertia_kgm2)
            self.q += self.dq * dt
            self.tau = tau
        self.cycles += 1
        counts = int(round(self.q * counts_per_rad))
        velocity = int(round(self.dq * counts_per_rad))
        if self.frozen_counts is not None:
            counts, velocity = self.frozen_counts, 0
        od[(0x6064, 0)][1] = max(-2**31, min(2**31 - 1, counts))
        od[(0x606C, 0)][1] = max(-2**31, min(2**31 - 1, velocity))
        od[(0x6077, 0)][1] = max(-32768, min(32767, int(round(self.tau / rated_nm * 1000.0))))
        od[(0x603F, 0)][1] = self.fault_code
        sw = STATUSWORD[self.state] | SW_REMOTE
        if self.state in (READY_TO_SWITCH_ON, SWITCHED_ON, OPERATION_ENABLED, QUICK_STOP_ACTIVE):
            sw |= SW_VOLTAGE_ENABLED
        od[(0x6041, 0)][1] = sw
        tx = self.tx_entries()
        values = [od[(obj, 0)][1] for obj, _, _, code in tx if code != "x"]
        return pdo_struct(tx).pack(*values)

    def freeze_encoder(self, frozen: bool) -> None:
        counts_per_rad = self.od[(0x608F, 1)][1] / self.od[(0x608F, 2)][1] / (2 * math.pi)
        self.frozen_counts = int(round(self.q * counts_per_rad)) if frozen else None
