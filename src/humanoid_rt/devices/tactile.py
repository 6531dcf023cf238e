"""Tactile sensor array: taxel frames with header, sequence number, length and CRC-32
(format and test vectors: firmware_interfaces/serial/tactile.md)."""

from __future__ import annotations

import math
import struct
import zlib

import numpy as np

from .base import StreamDevice
from .framing import FormatError, FrameScanner
from .virtual import VirtualDevice

__all__ = ["SYNC", "VERSION", "MAX_SIDE", "encode_frame", "decode_frame", "frame_length", "make_scanner",
           "TactileArray", "VirtualTactileArray"]

SYNC = b"\xA5\x5A"
VERSION = 1
MAX_SIDE = 64
_HEADER = struct.Struct("<2sBBBBIH")  # sync, version, rows, cols, flags, seq, payload length
HEADER_SIZE = _HEADER.size  # 12
CRC_SIZE = 4


def frame_length(buffer: bytes | bytearray) -> int | None:
    """Whole frame length from a buffer starting with SYNC; None: header incomplete; 0: impossible header."""
    if len(buffer) < HEADER_SIZE:
        return None
    _, version, rows, cols, _, _, length = _HEADER.unpack_from(buffer)
    if version != VERSION or not (1 <= rows <= MAX_SIDE and 1 <= cols <= MAX_SIDE) or length != 2 * rows * cols:
        return 0
    return HEADER_SIZE + length + CRC_SIZE


def _crc_ok(frame: bytes) -> bool:
    return zlib.crc32(memoryview(frame)[2:-CRC_SIZE]) == struct.unpack_from("<I", frame, len(frame) - CRC_SIZE)[0]


def encode_frame(seq: int, pressure: np.ndarray) -> bytes:
    rows, cols = pressure.shape
    if not (1 <= rows <= MAX_SIDE and 1 <= cols <= MAX_SIDE):
        raise ValueError(f"pressure shape {pressure.shape}; allowed: rows and cols 1..{MAX_SIDE}")
    payload = np.ascontiguousarray(pressure, dtype="<u2").tobytes()
    body = _HEADER.pack(SYNC, VERSION, rows, cols, 0, seq & 0xFFFFFFFF, len(payload)) + payload
    return body + struct.pack("<I", zlib.crc32(body[2:]))


def decode_frame(frame: bytes) -> tuple[int, np.ndarray]:
    """(seq, pressure uint16 (rows, cols)) of one frame; FormatError if it is not a valid frame."""
    if not frame.startswith(SYNC) or frame_length(frame) != len(frame) or not _crc_ok(frame):
        raise FormatError("not a valid tactile frame (sync, header, length or CRC-32)")
    _, _, rows, cols, _, seq, _ = _HEADER.unpack_from(frame)
    pressure = np.frombuffer(frame, dtype="<u2", count=rows * cols, offset=HEADER_SIZE).reshape(rows, cols)
    return seq, pressure.astype(np.uint16)


def make_scanner() -> FrameScanner:
    return FrameScanner(SYNC, frame_length, _crc_ok)


class TactileArray(StreamDevice):
    kind = "tactile"
    EXTRA_COUNTERS = ("seq_gaps", "lost_frames", "shape_errors")

    def __init__(self, name: str, url: str, *, rows: int = 16, cols: int = 16, baudrate: int = 2_000_000,
                 rate_hz: float = 200.0, **kwargs):
        if not (1 <= rows <= MAX_SIDE and 1 <= cols <= MAX_SIDE):
            raise ValueError(f"rows, cols: {rows}, {cols}; allowed: integers 1..{MAX_SIDE}")
        self.rows, self.cols = rows, cols
        self.COLUMNS = {"seq": (np.uint32, ()), "pressure": (np.uint16, (rows, cols))}
        self._last_seq: int | None = None
        super().__init__(name, url, baudrate=baudrate, rate_hz=rate_hz, **kwargs)

    def _make_scanner(self) -> FrameScanner:
        return make_scanner()

    def _decode(self, frame: bytes, t_ns: int) -> int:
        seq, pressure = decode_frame(frame)
        if pressure.shape != (self.rows, self.cols):
            self._count("shape_errors", f"frame {pressure.shape}, configured ({self.rows}, {self.cols})")
            return 0
        if self._last_seq is not None and seq != (self._last_seq + 1) & 0xFFFFFFFF:
            self._count("seq_gaps", f"seq {self._last_seq} -> {seq}")
            with self._stats_lock:
                self._counts["lost_frames"] += (seq - self._last_seq - 1) & 0xFFFFFFFF
        self._last_seq = seq
        self.samples.append(t_ns, {"seq": seq, "pressure": pressure})
        return 1


class VirtualTactileArray(VirtualDevice):
    """A pressure blob circling over the array; every tick one frame with the next sequence number."""

    kind = "tactile"

    def __init__(self, rows: int = 16, cols: int = 16, rate_hz: float = 200.0, seed: int = 0):
        super().__init__(rate_hz, seed)
        self.rows, self.cols = rows, cols
        self.seq = 0
        self.t = 0.0
        self._grid = np.mgrid[0:rows, 0:cols].astype(np.float64)

    def _advance(self, dt: float) -> None:
        self.t += dt

    def pressure(self) -> np.ndarray:
        angle = 2 * math.pi * 0.5 * self.t  # one turn every 2 s
        centre_r = (self.rows - 1) / 2 * (1 + 0.6 * math.sin(angle))
        centre_c = (self.cols - 1) / 2 * (1 + 0.6 * math.cos(angle))
        width = max(self.rows, self.cols) / 6
        distance2 = (self._grid[0] - centre_r) ** 2 + (self._grid[1] - centre_c) ** 2
        return np.round(4000 * np.exp(-distance2 / (2 * width**2))).astype(np.uint16)

    def _periodic_frames(self) -> list[bytes]:
        frame = encode_frame(self.seq, self.pressure())
        self.seq = (self.seq + 1) & 0xFFFFFFFF
        return [frame]
