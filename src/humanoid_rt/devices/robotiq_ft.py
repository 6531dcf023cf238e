"""Six-axis force/torque stream in the Robotiq FT 300 format (firmware_interfaces/serial/robotiq_ft300.md).

Streaming starts with a Modbus write of 0x0200 to register 410 (slave 9, 19200 baud) and stops when the sensor
receives a run of 0xFF bytes; each frame is 0x20 0x4E, six int16 little-endian (Fx Fy Fz in 1/100 N, Mx My Mz
in 1/1000 Nm) and a CRC-16/MODBUS over the first 14 bytes, low byte first.
"""

from __future__ import annotations

import math
import struct

import numpy as np

from . import modbus
from .base import StreamDevice
from .framing import FormatError, FrameScanner, crc16_modbus
from .virtual import VirtualDevice

__all__ = ["SYNC", "FRAME_SIZE", "SCALE", "STREAM_REGISTER", "STREAM_START", "STOP_BYTES", "DEFAULT_SLAVE_ID",
           "encode_frame", "decode_frame", "make_scanner", "RobotiqFT", "VirtualRobotiqFT"]

SYNC = b"\x20\x4E"
FRAME_SIZE = 16
SCALE = np.array([100.0, 100.0, 100.0, 1000.0, 1000.0, 1000.0])  # raw counts per N (forces) and per Nm (torques)
STREAM_REGISTER = 410
STREAM_START = 0x0200
STOP_BYTES = b"\xFF" * 50  # about 26 ms of 0xFF at 19200 baud: the sensor leaves stream mode
DEFAULT_SLAVE_ID = 9
_BODY = struct.Struct("<2s6h")


def _crc_ok(frame: bytes) -> bool:
    return crc16_modbus(memoryview(frame)[:14]) == struct.unpack_from("<H", frame, 14)[0]


def encode_frame(wrench) -> bytes:
    """Frame for wrench [Fx, Fy, Fz (N), Mx, My, Mz (Nm)], rounded to the format's resolution."""
    raw = np.round(np.asarray(wrench, dtype=np.float64) * SCALE)
    if raw.shape != (6,) or np.any(np.abs(raw) > 32767):
        raise ValueError(f"wrench {wrench!r}; allowed: 6 values within +-327.67 N and +-32.767 Nm")
    body = _BODY.pack(SYNC, *(int(v) for v in raw))
    return body + struct.pack("<H", crc16_modbus(body))


def decode_frame(frame: bytes) -> np.ndarray:
    """Wrench float64 (6,) [N, Nm]; FormatError if `frame` is not a valid frame."""
    if len(frame) != FRAME_SIZE or not frame.startswith(SYNC) or not _crc_ok(frame):
        raise FormatError("not a valid FT 300 frame (16 bytes, 0x20 0x4E, CRC-16/MODBUS)")
    return np.array(_BODY.unpack_from(frame)[1:], dtype=np.float64) / SCALE


def make_scanner() -> FrameScanner:
    return FrameScanner(SYNC, lambda buffer: FRAME_SIZE, _crc_ok)


class RobotiqFT(StreamDevice):
    kind = "robotiq_ft"
    COLUMNS = {"wrench": (np.float64, (6,))}

    def __init__(self, name: str, url: str, *, slave_id: int = DEFAULT_SLAVE_ID, baudrate: int = 19200,
                 rate_hz: float = 100.0, **kwargs):
        if not 1 <= slave_id <= 247:
            raise ValueError(f"slave_id: {slave_id}; allowed: an integer 1..247")
        self.slave_id = slave_id
        super().__init__(name, url, baudrate=baudrate, rate_hz=rate_hz, **kwargs)

    def _make_scanner(self) -> FrameScanner:
        return make_scanner()

    def _on_open(self, port) -> None:
        # A sensor still streaming from an earlier session would not hear the Modbus request: stop it first.
        port.write(STOP_BYTES)
        self._stop.wait(min(0.05, 2.0 / self.rate_hz))  # let frames already on the wire arrive, then flush them
        super()._on_open(port)
        modbus.ModbusRtuMaster(port, self.baudrate).write_multiple(self.slave_id, STREAM_REGISTER, [STREAM_START])

    def _on_stop(self) -> None:
        if self._port is not None:
            try:
                self._port.write(STOP_BYTES)
            except Exception:  # best effort: the port may already be gone
                pass

    def _decode(self, frame: bytes, t_ns: int) -> int:
        self.samples.append(t_ns, {"wrench": decode_frame(frame)})
        return 1


class VirtualRobotiqFT(VirtualDevice):
    """Answers the stream-start write, then streams a slowly varying wrench until it hears 0xFF bytes."""

    kind = "robotiq_ft"

    def __init__(self, rate_hz: float = 100.0, slave_id: int = DEFAULT_SLAVE_ID, seed: int = 0):
        super().__init__(rate_hz, seed)
        self.slave_id = slave_id
        self.streaming = False
        self.t = 0.0

    def _advance(self, dt: float) -> None:
        self.t += dt

    def wrench(self) -> np.ndarray:
        t = self.t
        return np.array([1.5 * math.sin(t), -0.8 * math.cos(0.7 * t), -9.81 + 2.0 * math.sin(0.3 * t),
                         0.12 * math.sin(0.5 * t), 0.05 * math.cos(t), 0.02 * math.sin(2 * t)])

    def _periodic_frames(self) -> list[bytes]:
        return [encode_frame(self.wrench())] if self.streaming else []

    def _respond(self) -> list[bytes]:
        buffer = self._input
        if b"\xFF" in buffer:
            self.streaming = False
            del buffer[: buffer.rindex(b"\xFF") + 1]
        length = modbus.request_length(buffer)
        if not length or len(buffer) < length:
            if length == 0:
                buffer.clear()
            return []
        frame = bytes(buffer[:length])
        del buffer[:length]
        try:
            slave, function, address, payload = modbus.parse_request(frame)
        except FormatError:
            return []
        if slave != self.slave_id:
            return []
        if function == modbus.WRITE_MULTIPLE_REGISTERS and address == STREAM_REGISTER and payload == (STREAM_START,):
            self.streaming = True
            return [modbus.write_multiple_response(slave, address, 1)]
        return [modbus.exception_response(slave, function, 0x02)]
