"""Bus load: how much of a CAN or CAN-FD bus's time one control cycle's frames take.

Frame lengths follow ISO 11898-1 with worst-case bit stuffing (a stuff bit after every 4
bits of the stuffed fields), the 3-bit interframe space included:

  classic, 11-bit ID:  47 + 8n bits + floor((34 + 8n - 1) / 4) stuff bits
  classic, 29-bit ID:  67 + 8n bits + floor((54 + 8n - 1) / 4) stuff bits
  CAN-FD:  arbitration (17 bits 11-bit ID, 36 bits 29-bit ID, plus stuffing) and the tail
           (CRC delimiter, ACK, EOF, IFS: 13 bits) at the nominal rate; ESI, DLC, data,
           stuff count, CRC (17 bits up to 16 bytes, 21 above) with its fixed stuff bits at the
           data rate when bit-rate switching is on.

Each joint exchanges one command and one reply per cycle.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from . import protocols as P

__all__ = ["FD_LENGTHS", "frame_time_s", "exchange_time_s", "BusLoad", "bus_load"]

FD_LENGTHS = (0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 20, 24, 32, 48, 64)


def _fd_length(n: int) -> int:
    for length in FD_LENGTHS:
        if length >= n:
            return length
    raise ValueError(f"payload: at most 64 bytes (got {n})")


def frame_time_s(payload_len: int, *, extended: bool, fd: bool, bitrate: int, data_bitrate: int | None = None,
                 brs: bool = True) -> float:
    """Worst-case time one frame occupies the bus [s]."""
    if not fd:
        if payload_len > 8:
            raise ValueError(f"payload: classic CAN carries at most 8 bytes (got {payload_len})")
        n = payload_len
        fixed, stuffed = (67, 54) if extended else (47, 34)
        bits = fixed + 8 * n + (stuffed + 8 * n - 1) // 4
        return bits / bitrate
    n = _fd_length(payload_len)
    arbitration = 36 if extended else 17
    nominal_bits = arbitration + (arbitration - 1) // 4 + 13
    crc = 17 if n <= 16 else 21
    dynamic = 1 + 4 + 8 * n
    data_bits = dynamic + (dynamic - 1) // 4 + 4 + crc + math.ceil((4 + crc) / 4)
    data_rate = data_bitrate if brs and data_bitrate else bitrate
    return nominal_bits / bitrate + data_bits / data_rate


def reply_length(protocol: str) -> int:
    return 6 if protocol == "mit_reference" else 8


def exchange_time_s(protocol: str, *, fd: bool, bitrate: int, data_bitrate: int | None) -> float:
    """Command plus reply of one joint [s] (CiA 402: RPDO1 of up to 6 bytes, TPDO1 8, TPDO2 6)."""
    if protocol == "cia402":
        return sum(frame_time_s(n, extended=False, fd=fd, bitrate=bitrate, data_bitrate=data_bitrate) for n in (6, 8, 6))
    extended = protocol == "robstride"
    return (frame_time_s(8, extended=extended, fd=fd, bitrate=bitrate, data_bitrate=data_bitrate)
            + frame_time_s(reply_length(protocol), extended=extended, fd=fd, bitrate=bitrate, data_bitrate=data_bitrate))


@dataclass(frozen=True)
class BusLoad:
    bus: str
    joints: int
    frames_per_cycle: int
    busy_us_per_cycle: float
    period_us: float
    load: float  # fraction of the bus's time
    max_load: float

    @property
    def fits(self) -> bool:
        return self.load <= self.max_load

    def describe(self) -> str:
        return (f"{self.joints} joints, {self.frames_per_cycle} frames = {self.busy_us_per_cycle:.1f} us per "
                f"{self.period_us:.0f} us cycle: load {100 * self.load:.1f} % (max {100 * self.max_load:.0f} %)")


def bus_load(bus: str, protocols: list[str], *, rate_hz: float, fd: bool, bitrate: int, data_bitrate: int | None,
             max_load: float) -> BusLoad:
    busy = sum(exchange_time_s(p, fd=fd, bitrate=bitrate, data_bitrate=data_bitrate) for p in protocols)
    frames = sum(3 if p == "cia402" else 2 for p in protocols)
    if "cia402" in protocols:  # one SYNC per cycle
        busy += frame_time_s(0, extended=False, fd=fd, bitrate=bitrate, data_bitrate=data_bitrate)
        frames += 1
    period = 1.0 / rate_hz
    return BusLoad(bus, len(protocols), frames, busy * 1e6, period * 1e6, busy / period, max_load)


assert set(P.PROTOCOLS) >= {"mit_reference"}
