"""Codecs against the documented test vectors (firmware_interfaces/serial/) and against pymodbus."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
from pymodbus.framer import FramerRTU
from pymodbus.pdu import DecodePDU
from pymodbus.pdu.register_message import (
    ReadHoldingRegistersRequest, ReadHoldingRegistersResponse, WriteMultipleRegistersRequest,
    WriteMultipleRegistersResponse)

from humanoid_rt.devices import modbus
from humanoid_rt.devices import robotiq_ft as ft
from humanoid_rt.devices import tactile
from humanoid_rt.devices import witmotion as wm
from humanoid_rt.devices.framing import FormatError
from humanoid_rt.devices.inspire_hand import REGISTERS, pack_bytes, unpack_bytes

DOCS = Path(__file__).resolve().parents[1] / "firmware_interfaces" / "serial"


def vectors(document: str) -> dict[str, bytes]:
    text = (DOCS / document).read_text()
    found = re.findall(r"<!-- vector: (\S+) -->\s*```hex\n(.*?)```", text, re.S)
    return {name: bytes.fromhex(body) for name, body in found}


def test_every_document_has_vectors():
    for document in ("inspire_rh56.md", "robotiq_ft300.md", "tactile.md", "witmotion_wt901.md"):
        assert len(vectors(document)) >= 1, document


def test_inspire_vectors():
    v = vectors("inspire_rh56.md")
    angle_act = REGISTERS["angle_act"]
    assert modbus.read_holding_request(1, angle_act.address, 6) == v["read_angle_act_request"]
    assert modbus.parse_read_holding_response(v["read_angle_act_response"], 1, 6) == (1000, 900, 500, 250, 0, 1000)
    assert modbus.write_multiple_request(1, REGISTERS["angle_set"].address, [0, 100, 200, 300, 400, 500]) == \
        v["write_angle_set_request"]
    modbus.parse_write_multiple_response(v["write_angle_set_response"], 1, REGISTERS["angle_set"].address, 6)
    force = modbus.parse_read_holding_response(v["read_force_act_response"], 1, 6)
    assert np.array(force, np.uint16).view(np.int16).tolist() == [0, -10, 350, 0, 0, 0]
    errors = unpack_bytes(modbus.parse_read_holding_response(v["read_error_response"], 1, 3))
    assert errors == [0, 1, 0, 4, 0, 0]
    assert pack_bytes(errors) == [0x0100, 0x0400, 0]
    with pytest.raises(modbus.ModbusExceptionResponse) as caught:
        modbus.parse_read_holding_response(v["exception_illegal_address"], 1, 6)
    assert caught.value.code == 2


def test_robotiq_vectors():
    v = vectors("robotiq_ft300.md")
    assert modbus.write_multiple_request(ft.DEFAULT_SLAVE_ID, ft.STREAM_REGISTER, [ft.STREAM_START]) == \
        v["stream_start_request"]
    modbus.parse_write_multiple_response(v["stream_start_response"], 9, ft.STREAM_REGISTER, 1)
    wrench = [1.5, -2.25, -9.81, 0.125, -0.05, 0.002]
    assert ft.encode_frame(wrench) == v["frame"]
    np.testing.assert_allclose(ft.decode_frame(v["frame"]), wrench, atol=1e-12)


def test_tactile_vector():
    frame = vectors("tactile.md")["frame_2x3"]
    taxels = np.array([[0, 1, 2], [256, 1000, 65535]], np.uint16)
    assert tactile.encode_frame(7, taxels) == frame
    seq, pressure = tactile.decode_frame(frame)
    assert seq == 7 and pressure.dtype == np.uint16 and (pressure == taxels).all()


def test_witmotion_vectors():
    v = vectors("witmotion_wt901.md")
    assert wm.encode_packet(wm.ACCELERATION, (0, 0, 2048, 2500)) == v["acceleration_1g"]
    kind, raw = wm.decode_packet(v["acceleration_1g"])
    assert kind == wm.ACCELERATION and math.isclose(raw[2] * wm.UNITS[kind], wm.GRAVITY)
    assert wm.decode_packet(v["angular_velocity"]) == (wm.ANGULAR_VELOCITY, (0, 0, -1000, 2500))
    kind, raw = wm.decode_packet(v["quaternion"])
    quat = np.array(raw) * wm.UNITS[kind]
    assert kind == wm.QUATERNION and math.isclose(np.linalg.norm(quat), 1.0, rel_tol=1e-4)


STREAM_DECODERS = {"robotiq_ft300.md": ft.decode_frame, "tactile.md": tactile.decode_frame,
                   "witmotion_wt901.md": wm.decode_packet}


@pytest.mark.parametrize("document", ["inspire_rh56.md", "robotiq_ft300.md", "tactile.md", "witmotion_wt901.md"])
def test_any_single_byte_error_in_a_vector_is_rejected(document):
    for name, frame in vectors(document).items():
        is_modbus = document == "inspire_rh56.md" or name.startswith("stream_start")
        for index in range(len(frame)):
            for flip in (0x01, 0x80, 0xFF):
                corrupt = frame[:index] + bytes([frame[index] ^ flip]) + frame[index + 1:]
                if is_modbus:
                    assert not modbus.crc_ok(corrupt), (name, index)
                else:
                    with pytest.raises(FormatError):
                        STREAM_DECODERS[document](corrupt)


# --- pymodbus as the independent implementation ------------------------------------------------


def test_requests_match_pymodbus():
    framer = FramerRTU(DecodePDU(is_server=False))
    for group in REGISTERS.values():
        theirs = framer.buildFrame(ReadHoldingRegistersRequest(address=group.address, count=group.count, dev_id=3))
        assert modbus.read_holding_request(3, group.address, group.count) == theirs
    values = [0, 1, 999, 1000, 0xFFFF, 42]
    theirs = framer.buildFrame(WriteMultipleRegistersRequest(address=1486, registers=values, dev_id=1))
    assert modbus.write_multiple_request(1, 1486, values) == theirs


def test_responses_match_pymodbus():
    framer = FramerRTU(DecodePDU(is_server=True))
    values = [1000, 0, 0xFFF6, 12345, 1, 65535]
    theirs = framer.buildFrame(ReadHoldingRegistersResponse(registers=values, dev_id=7))
    assert modbus.read_holding_response(7, values) == theirs
    assert modbus.parse_read_holding_response(theirs, 7, 6) == tuple(values)
    theirs = framer.buildFrame(WriteMultipleRegistersResponse(address=1522, count=6, dev_id=7))
    assert modbus.write_multiple_response(7, 1522, 6) == theirs


def test_pymodbus_decodes_our_responses():
    framer = FramerRTU(DecodePDU(is_server=False))
    ours = modbus.read_holding_response(1, [5, 6, 7])
    used, pdu = framer.handleFrame(ours, 1, 0)
    assert used == len(ours) and pdu.registers == [5, 6, 7]
    used, pdu = framer.handleFrame(modbus.exception_response(1, 3, 2), 1, 0)
    assert pdu.isError() and pdu.exception_code == 2


def test_request_arguments_are_checked():
    with pytest.raises(ValueError, match="slave_id: 0 out of range; allowed: 1..247"):
        modbus.read_holding_request(0, 1546, 6)
    with pytest.raises(ValueError, match="count: 126 out of range; allowed: 1..125"):
        modbus.read_holding_request(1, 0, 126)
    with pytest.raises(ValueError, match=r"values\[1\]: 65536 out of range; allowed: 0..65535"):
        modbus.write_multiple_request(1, 0, [0, 65536])


def test_inter_frame_gap():
    assert modbus.inter_frame_gap_s(115200) == pytest.approx(1.75e-3)
    assert modbus.inter_frame_gap_s(9600) == pytest.approx(3.5 * 11 / 9600)
