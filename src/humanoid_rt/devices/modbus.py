"""Modbus-RTU over pyserial: the frame codec (both sides) and a master for the reader threads.

Why our own master and not pymodbus (the field library): the reader thread must tell a CRC error from a timeout
from a torn or foreign frame from an exception response, count each, and go on with the next poll without
retrying behind our back. pymodbus 3.x's serial client does open `serial_for_url` URLs and ptys, but it folds
CRC errors and timeouts into one `ModbusIOException`, retries internally (hiding the error counts) and its API
changed across 3.x minor releases (firmware_interfaces/serial/README.md). Function codes 0x03 and 0x10, the CRC and the inter-frame gap
are little code; the tests cross-check every frame we build and parse against pymodbus (pinned in the test
extras) as the independent implementation, and run pymodbus's client against the virtual hand.
"""

from __future__ import annotations

import struct
import time

from ..errors import HumanoidRtError
from .framing import FormatError, crc16_modbus

__all__ = [
    "READ_HOLDING_REGISTERS", "WRITE_MULTIPLE_REGISTERS", "MAX_READ_COUNT", "MAX_WRITE_COUNT",
    "EXCEPTION_NAMES", "ModbusError", "ModbusTimeout", "ModbusCrcError", "ModbusFrameError",
    "ModbusExceptionResponse", "with_crc", "crc_ok", "read_holding_request", "write_multiple_request",
    "read_holding_response", "write_multiple_response", "exception_response", "parse_read_holding_response",
    "parse_write_multiple_response", "request_length", "parse_request", "inter_frame_gap_s", "ModbusRtuMaster",
]

READ_HOLDING_REGISTERS = 0x03
WRITE_MULTIPLE_REGISTERS = 0x10
MAX_READ_COUNT = 125  # Modbus application protocol v1.1b3, 6.3
MAX_WRITE_COUNT = 123  # 6.12
EXCEPTION_NAMES = {
    0x01: "illegal function",
    0x02: "illegal data address",
    0x03: "illegal data value",
    0x04: "server device failure",
}


class ModbusError(HumanoidRtError):
    """A failed transaction; the subclass says how it failed (each is counted separately)."""


class ModbusTimeout(ModbusError):
    """No complete response within the timeout (silence, a stalled device, or a short frame)."""


class ModbusCrcError(ModbusError):
    """A complete response arrived whose CRC did not match."""


class ModbusFrameError(ModbusError):
    """A response with a valid CRC that does not answer the request (other slave, function, address or length)."""


class ModbusExceptionResponse(ModbusError):
    def __init__(self, function: int, code: int):
        self.function = function
        self.code = code
        super().__init__(f"exception response to function 0x{function:02X}: 0x{code:02X} "
                         f"({EXCEPTION_NAMES.get(code, 'unknown')})")


def with_crc(body: bytes) -> bytes:
    return body + struct.pack("<H", crc16_modbus(body))


def crc_ok(frame: bytes) -> bool:
    return len(frame) >= 4 and crc16_modbus(frame[:-2]) == struct.unpack_from("<H", frame, len(frame) - 2)[0]


def _check_address_count(address: int, count: int, maximum: int) -> None:
    if not 0 <= address <= 0xFFFF:
        raise ValueError(f"address: {address} out of range; allowed: 0..65535")
    if not 1 <= count <= maximum or address + count > 0x10000:
        raise ValueError(f"count: {count} out of range; allowed: 1..{maximum} registers ending at or below 65535")


def _check_slave(slave: int) -> None:
    if not 1 <= slave <= 247:
        raise ValueError(f"slave_id: {slave} out of range; allowed: 1..247")


# --- master side ---------------------------------------------------------------


def read_holding_request(slave: int, address: int, count: int) -> bytes:
    _check_slave(slave)
    _check_address_count(address, count, MAX_READ_COUNT)
    return with_crc(struct.pack(">BBHH", slave, READ_HOLDING_REGISTERS, address, count))


def write_multiple_request(slave: int, address: int, values: list[int] | tuple[int, ...]) -> bytes:
    _check_slave(slave)
    _check_address_count(address, len(values), MAX_WRITE_COUNT)
    for index, value in enumerate(values):
        if not 0 <= value <= 0xFFFF:
            raise ValueError(f"values[{index}]: {value} out of range; allowed: 0..65535 (u16)")
    return with_crc(struct.pack(f">BBHHB{len(values)}H", slave, WRITE_MULTIPLE_REGISTERS, address, len(values),
                                2 * len(values), *values))


def _check_response(frame: bytes, slave: int, function: int) -> None:
    """Raise the error a complete response deserves, unless it is a well-formed answer to (slave, function)."""
    if not crc_ok(frame):
        raise ModbusCrcError(f"CRC mismatch in {frame.hex(' ')}")
    if frame[0] != slave:
        raise ModbusFrameError(f"response from slave {frame[0]}, expected {slave}")
    if frame[1] == function | 0x80:
        raise ModbusExceptionResponse(function, frame[2])
    if frame[1] != function:
        raise ModbusFrameError(f"response function 0x{frame[1]:02X}, expected 0x{function:02X}")


def parse_read_holding_response(frame: bytes, slave: int, count: int) -> tuple[int, ...]:
    _check_response(frame, slave, READ_HOLDING_REGISTERS)
    if frame[2] != 2 * count or len(frame) != 5 + 2 * count:
        raise ModbusFrameError(f"byte count {frame[2]} in a {len(frame)}-byte frame, expected {2 * count}")
    return struct.unpack_from(f">{count}H", frame, 3)


def parse_write_multiple_response(frame: bytes, slave: int, address: int, count: int) -> None:
    _check_response(frame, slave, WRITE_MULTIPLE_REGISTERS)
    if len(frame) != 8 or struct.unpack_from(">HH", frame, 2) != (address, count):
        raise ModbusFrameError(f"write echo {frame.hex(' ')} does not match address {address} count {count}")


# --- slave side (the virtual devices) ---------------------------------------------


def read_holding_response(slave: int, values: list[int] | tuple[int, ...]) -> bytes:
    return with_crc(struct.pack(f">BBB{len(values)}H", slave, READ_HOLDING_REGISTERS, 2 * len(values), *values))


def write_multiple_response(slave: int, address: int, count: int) -> bytes:
    return with_crc(struct.pack(">BBHH", slave, WRITE_MULTIPLE_REGISTERS, address, count))


def exception_response(slave: int, function: int, code: int) -> bytes:
    return with_crc(struct.pack(">BBB", slave, (function | 0x80) & 0xFF, code))


def request_length(buffer: bytes | bytearray) -> int | None:
    """Length of the request at the start of `buffer`: None until known, 0 for a function we do not serve."""
    if len(buffer) < 2:
        return None
    if buffer[1] == READ_HOLDING_REGISTERS:
        return 8
    if buffer[1] == WRITE_MULTIPLE_REGISTERS:
        return None if len(buffer) < 7 else 9 + buffer[6]
    return 0


def parse_request(frame: bytes) -> tuple[int, int, int, tuple[int, ...] | int]:
    """(slave, function, address, count for 0x03 or values for 0x10) of a complete request with a valid CRC."""
    if not crc_ok(frame):
        raise FormatError("bad CRC or too short")
    slave, function, address, count = struct.unpack_from(">BBHH", frame)
    if function == READ_HOLDING_REGISTERS and len(frame) == 8:
        return slave, function, address, count
    if function == WRITE_MULTIPLE_REGISTERS and len(frame) == 9 + frame[6] and frame[6] == 2 * count:
        return slave, function, address, struct.unpack_from(f">{count}H", frame, 7)
    raise FormatError(f"not a 0x03/0x10 request: {frame.hex(' ')}")


def inter_frame_gap_s(baudrate: int) -> float:
    """t3.5: 3.5 character times (11 bits each), fixed at 1.75 ms above 19200 baud (Modbus over serial line, 2.5.1.1)."""
    return 1.75e-3 if baudrate > 19200 else 3.5 * 11 / baudrate


class ModbusRtuMaster:
    """One transaction at a time on an open pyserial port (its `timeout` bounds every read).

    Each call writes one request and reads exactly the bytes the response needs: the first two must echo the
    request's slave and function (else the line is out of step: a frame error), and tell an exception response
    (5 bytes) from a normal one, whose length follows from the request. Any failure flushes the input so the next
    request starts on a quiet line.
    """

    def __init__(self, port, baudrate: int):
        self.port = port
        self.gap_s = inter_frame_gap_s(baudrate)
        self.char_s = 11.0 / baudrate  # one character: start, 8 data, parity or stop, stop
        self._line_idle_at = 0.0  # monotonic time the bus has been silent enough for the next request

    def _transact(self, request: bytes, response_length: int, parse):
        wait = self._line_idle_at - time.monotonic()
        if wait > 0:
            time.sleep(wait)  # the t3.5 silence that delimits RTU frames, at most 1.75 ms
        try:
            self.port.write(request)
            head = self.port.read(2)
            if len(head) == 2:
                if head[0] != request[0] or head[1] & 0x7F != request[1]:
                    # Not the start of our answer (line noise, a torn or foreign frame): resynchronise.
                    raise ModbusFrameError(f"response starts {head.hex(' ')}, expected {request[:2].hex(' ')}")
                if head[1] & 0x80:
                    response_length = 5
                head += self.port.read(response_length - 2)
            if len(head) < response_length:
                raise ModbusTimeout(f"{len(head)} of {response_length} response bytes before the timeout")
            return parse(head)
        except ModbusError:
            # Let the rest of a bad frame arrive (its remaining character times), then drop it, so the next
            # request starts on a quiet line.
            time.sleep(self.char_s * response_length)
            self.port.reset_input_buffer()
            raise
        finally:
            self._line_idle_at = time.monotonic() + self.gap_s

    def read_holding(self, slave: int, address: int, count: int) -> tuple[int, ...]:
        return self._transact(read_holding_request(slave, address, count), 5 + 2 * count,
                              lambda frame: parse_read_holding_response(frame, slave, count))

    def write_multiple(self, slave: int, address: int, values) -> None:
        self._transact(write_multiple_request(slave, address, values), 8,
                       lambda frame: parse_write_multiple_response(frame, slave, address, len(values)))
