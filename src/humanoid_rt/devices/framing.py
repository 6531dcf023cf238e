"""Byte-level building blocks shared by every serial format: CRC-16/MODBUS and a resynchronising frame scanner.

All functions here are pure (bytes in, values out), so the formats' golden vectors and the hypothesis fuzz tests
exercise exactly the code the reader threads run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..errors import HumanoidRtError

__all__ = ["crc16_modbus", "FrameScanner", "ScanCounters", "FormatError"]


class FormatError(HumanoidRtError, ValueError):
    """A frame handed to a decoder is not a valid frame of its format (length, header, CRC or checksum)."""


def _crc16_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CRC16_TABLE = _crc16_table()


def crc16_modbus(data: bytes | bytearray | memoryview) -> int:
    """CRC-16/MODBUS (poly 0x8005 reflected, init 0xFFFF, no final xor); sent low byte first on the wire."""
    crc = 0xFFFF
    table = _CRC16_TABLE
    for byte in data:
        crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
    return crc


@dataclass
class ScanCounters:
    frames: int = 0
    crc_errors: int = 0  # a complete candidate frame whose CRC/checksum did not match
    resyncs: int = 0  # runs of bytes skipped to find the next frame start (garbage, torn or corrupt frames)


class FrameScanner:
    """Cuts a byte stream into frames that start with `sync` and pass `check`.

    `frame_length(buffer)` looks at a buffer that starts with `sync` and returns the whole frame's length, None
    while the header is incomplete, or 0 when the header itself is impossible (then the start is skipped).
    After a failed check only the first byte is dropped, so a real frame that begins inside the rejected bytes
    (sync patterns also occur in payloads) is still found: a corrupt frame never hides the next good one.
    """

    def __init__(self, sync: bytes, frame_length: Callable[[bytearray], int | None],
                 check: Callable[[bytes], bool], max_buffer: int = 1 << 16):
        self.sync = sync
        self.frame_length = frame_length
        self.check = check
        self.max_buffer = max_buffer
        self.counters = ScanCounters()
        self._buffer = bytearray()
        self._skipping = False  # inside a run of skipped bytes: one resync per run, not per byte

    def reset(self) -> None:
        """Forget partial data (after a reconnect the old bytes belong to another stream)."""
        self._buffer.clear()
        self._skipping = False

    def _skip(self, count: int) -> None:
        del self._buffer[:count]
        if not self._skipping:
            self.counters.resyncs += 1
            self._skipping = True

    def feed(self, data: bytes) -> list[bytes]:
        """Append `data`; return the complete, checked frames now available, oldest first."""
        buffer = self._buffer
        buffer += data
        frames: list[bytes] = []
        while True:
            start = buffer.find(self.sync)
            if start < 0:
                # Keep a possible partial sync at the end; everything before it is garbage.
                keep = len(self.sync) - 1
                if len(buffer) > keep:
                    tail_is_sync_prefix = keep and self.sync.startswith(bytes(buffer[-keep:]))
                    self._skip(len(buffer) - keep if tail_is_sync_prefix else len(buffer))
                break
            if start:
                self._skip(start)
            length = self.frame_length(buffer)
            if length is None:
                break
            if length == 0:
                self._skip(1)
                continue
            if len(buffer) < length:
                if len(buffer) > self.max_buffer:
                    self._skip(1)
                    continue
                break
            frame = bytes(buffer[:length])
            if self.check(frame):
                del buffer[:length]
                self._skipping = False
                self.counters.frames += 1
                frames.append(frame)
            else:
                self.counters.crc_errors += 1
                self._skip(1)
        return frames
