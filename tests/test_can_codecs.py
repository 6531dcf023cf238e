"""Golden vectors for the MIT-family codecs (C++ host side) and their agreement with the
device-side codecs of the virtual motors (C++ `VirtualMotorResponder`)."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from humanoid_rt import _core
from humanoid_rt.can import protocols as P

C = _core.can
PROTO = {"mit_reference": C.Protocol.MIT_REFERENCE, "cubemars": C.Protocol.CUBEMARS, "damiao": C.Protocol.DAMIAO,
         "robstride": C.Protocol.ROBSTRIDE, "myactuator": C.Protocol.MYACTUATOR}
REF = C.MitRanges(12.5, 65.0, 500.0, 5.0, 18.0)
F32 = np.float32


def firmware_float_to_uint(x, x_min, x_max, bits):
    """bgkatz/motorcontrol math_ops.c float_to_uint, in single precision and its operation order."""
    x = min(max(F32(x), F32(x_min)), F32(x_max))
    span = F32(x_max) - F32(x_min)
    return int((x - F32(x_min)) * F32((1 << bits) - 1) / span)


def firmware_uint_to_float(code, x_min, x_max, bits):
    span = F32(x_max) - F32(x_min)
    return float(F32(code) * span / F32((1 << bits) - 1) + F32(x_min))


def mit_payload(p, v, kp, kd, t):
    return bytes((p >> 8, p & 0xFF, v >> 4, ((v & 0xF) << 4) | (kp >> 8), kp & 0xFF, kd >> 4,
                  ((kd & 0xF) << 4) | (t >> 8), t & 0xFF))


def encode(protocol, ranges, q, dq, kp, kd, tau, device=1, host=0):
    return C.encode_command(PROTO[protocol], ranges, device, host, q, dq, kp, kd, tau)


# --- golden vectors, reference ranges (P 12.5, V 65, KP 500, KD 5, T 18) ---------------------

GOLDEN = [
    # (q, dq, kp, kd, tau) -> payload; worked by hand from float_to_uint's truncation
    ((0.0, 0.0, 0.0, 0.0, 0.0), "7fff7ff000" "0007ff"),  # mid-range codes truncate 32767.5 -> 32767, 2047.5 -> 2047
    ((-12.5, -65.0, 0.0, 0.0, -18.0), "0000000000000000"),  # every field at its minimum
    ((12.5, 65.0, 500.0, 5.0, 18.0), "ffffffffffffefff"),  # every field at maximum: kd lowered one LSB (FFE)
    ((99.0, -99.0, 1e6, -1.0, 1e9), "ffff000fff000fff"),  # clamped beyond the ranges (kd < 0 -> 0)
    ((math.nan, math.nan, math.nan, math.nan, math.nan), "7fff7ff000" "0007ff"),  # NaN encodes as 0 (zero torque)
    ((1.0, 2.0, 10.0, 0.5, -3.0), None),  # checked against the firmware formula below
]


@pytest.mark.parametrize("values, expected", GOLDEN)
def test_reference_command_golden(values, expected):
    can_id, extended, payload = encode("mit_reference", REF, *values, device=5)
    assert (can_id, extended) == (5, False)
    if expected is None:
        q, dq, kp, kd, tau = values
        expected = mit_payload(firmware_float_to_uint(q, -12.5, 12.5, 16), firmware_float_to_uint(dq, -65, 65, 12),
                               firmware_float_to_uint(kp, 0, 500, 12), firmware_float_to_uint(kd, 0, 5, 12),
                               firmware_float_to_uint(tau, -18, 18, 12)).hex()
    assert payload.hex() == expected


def test_float_to_uint_truncates_like_the_firmware():
    rng = random.Random(1)
    for _ in range(3000):
        lo, hi = -rng.uniform(0.5, 100), rng.uniform(0.5, 100)
        bits = rng.choice((12, 16))
        x = rng.uniform(lo * 1.1, hi * 1.1)
        assert C.float_to_uint(x, lo, hi, bits) == firmware_float_to_uint(x, lo, hi, bits)
        code = rng.randrange(1 << bits)
        assert C.uint_to_float(code, lo, hi, bits) == pytest.approx(firmware_uint_to_float(code, lo, hi, bits), abs=0)


@pytest.mark.parametrize("protocol", ["mit_reference", "cubemars", "damiao", "myactuator"])
def test_never_emits_a_special_frame(protocol):
    # All leading fields saturated and every torque code near the top: FF x7 FB..FE must never appear.
    ranges = C.default_ranges(PROTO[protocol])
    lsb = 2 * ranges.t_max / 4095
    for k in range(12):
        tau = ranges.t_max - k * lsb * 0.999
        _, _, payload = encode(protocol, ranges, 1e3, 1e3, 1e6, 1e6, tau)
        assert not (payload[:7] == b"\xff" * 7 and payload[7] in (0xFB, 0xFC, 0xFD, 0xFE)), payload.hex()
        assert payload[5] == 0xFF and payload[6] >> 4 == 0xE  # kd is the field that gives way, by one LSB


@pytest.mark.parametrize("protocol, last", [("mit_reference", 0xFC), ("cubemars", 0xFC), ("damiao", 0xFC)])
def test_special_frames(protocol, last):
    enter = C.encode_special(PROTO[protocol], C.Special.ENTER, 3, 0)
    exit_ = C.encode_special(PROTO[protocol], C.Special.EXIT, 3, 0)
    zero = C.encode_special(PROTO[protocol], C.Special.ZERO, 3, 0)
    assert enter == (3, False, bytes.fromhex("fffffffffffffffc"))
    assert exit_[2][-1] == 0xFD and zero[2][-1] == 0xFE
    clear = C.encode_special(PROTO[protocol], C.Special.CLEAR_ERROR, 3, 0)
    assert (clear is not None) == (protocol == "damiao")


def test_robstride_frames_golden():
    r = C.default_ranges(C.Protocol.ROBSTRIDE)  # P 12.57, V 44, KP 500, KD 5, T 17; 16-bit fields
    can_id, extended, payload = encode("robstride", r, 0.0, 0.0, 0.0, 0.0, 0.0, device=0x7F, host=0xFD)
    # type 1 in bits 28-24, torque code 32767 (0x7FFF) in bits 23-8, device in 7-0
    assert (can_id, extended) == (0x017FFF7F, True)
    assert payload.hex() == "7fff7fff00000000"
    can_id, _, payload = encode("robstride", r, 12.57, -44.0, 500.0, 5.0, -17.0, device=1)
    assert can_id == 0x01000001 and payload.hex() == "ffff0000ffffffff"
    assert C.encode_special(C.Protocol.ROBSTRIDE, C.Special.ENTER, 1, 0xFD) == (0x0300FD01, True, bytes(8))
    assert C.encode_special(C.Protocol.ROBSTRIDE, C.Special.EXIT, 1, 0xFD) == (0x0400FD01, True, bytes(8))
    assert C.encode_special(C.Protocol.ROBSTRIDE, C.Special.ZERO, 1, 0xFD)[2] == b"\x01" + bytes(7)
    # Feedback: type 2, fault bits 21-16, device 15-8, host 7-0; temperature in 0.1 degC
    reply = C.decode_reply(C.Protocol.ROBSTRIDE, r, 1, 0x02A501FD, True, bytes.fromhex("7fff8000ffff01c2"))
    assert reply["error"] == 0x25 and reply["temperature_c"] == pytest.approx(45.0)
    assert reply["tau"] == pytest.approx(17.0) and reply["q"] == pytest.approx(firmware_uint_to_float(0x7FFF, -12.57, 12.57, 16))


def test_myactuator_ids_and_no_enter_frame():
    r = C.default_ranges(C.Protocol.MYACTUATOR)
    assert encode("myactuator", r, 0, 0, 0, 0, 0, device=2)[:2] == (0x402, False)
    assert C.reply_id(C.Protocol.MYACTUATOR, 2, 0) == (0x502, False)
    assert C.encode_special(C.Protocol.MYACTUATOR, C.Special.ENTER, 2, 0) is None
    assert C.encode_special(C.Protocol.MYACTUATOR, C.Special.EXIT, 2, 0) == (0x142, False, b"\x80" + bytes(7))


REPLY_GOLDEN = [
    # protocol, device, can_id, payload, (q code, v code, t code), temperature, error
    ("mit_reference", 1, 0x000, "017fff7ff7ff", (0x7FFF, 0x7FF, 0x7FF), None, 0),
    ("cubemars", 4, 0x000, "04ffff000800" "2d03", (0xFFFF, 0x000, 0x800), 45.0, 3),
    ("cubemars", 4, 0x000, "0400000000" "00f600", (0x0000, 0x000, 0x000), -10.0, 0),
    ("damiao", 3, 0x013, "a3800080080028" "33", (0x8000, 0x800, 0x800), 51.0, 0xA),
    ("damiao", 3, 0x013, "13800080080028" "20", (0x8000, 0x800, 0x800), 40.0, 0),  # state 1 = enabled, no error
    ("myactuator", 2, 0x502, "027fff7ff7ff0000", (0x7FFF, 0x7FF, 0x7FF), None, 0),
]


@pytest.mark.parametrize("protocol, device, can_id, payload, codes, temperature, error", REPLY_GOLDEN)
def test_reply_golden(protocol, device, can_id, payload, codes, temperature, error):
    r = C.default_ranges(PROTO[protocol])
    out = C.decode_reply(PROTO[protocol], r, device, can_id, False, bytes.fromhex(payload))
    assert out["q"] == firmware_uint_to_float(codes[0], -r.p_max, r.p_max, 16)
    assert out["dq"] == firmware_uint_to_float(codes[1], -r.v_max, r.v_max, 12)
    assert out["tau"] == firmware_uint_to_float(codes[2], -r.t_max, r.t_max, 12)
    assert out["error"] == error
    if temperature is None:
        assert math.isnan(out["temperature_c"])
    else:
        assert out["temperature_c"] == temperature


@pytest.mark.parametrize("protocol, device, can_id, extended, payload, message", [
    ("mit_reference", 1, 0, False, "02" "7fff7ff7ff", "another device"),  # device byte names device 2
    ("mit_reference", 1, 0, False, "017fff", "malformed"),  # too short
    ("cubemars", 1, 0, False, "017fff7ff7ff", "malformed"),  # 6 bytes where CubeMars sends 8
    ("damiao", 3, 0x13, False, "047fff7ff7ff2828", "another device"),
    ("robstride", 1, 0x020001FD, True, "7fff", "malformed"),
    ("robstride", 1, 0x030001FD, True, "7fff7fff7fff0000", "malformed"),  # not a feedback frame
    ("robstride", 1, 0x020002FD, True, "7fff7fff7fff0000", "another device"),
])
def test_bad_replies_rejected(protocol, device, can_id, extended, payload, message):
    with pytest.raises(ValueError, match=message):
        C.decode_reply(PROTO[protocol], C.default_ranges(PROTO[protocol]), device, can_id, extended, bytes.fromhex(payload))


def device_motor(protocol, ranges, host_id, q=0.0, dq=0.0, tau=0.0, enabled=True):
    """A virtual motor (no I/O) in motor mode at (q, dq, tau) with a load too heavy to move in one
    period and no torque limit: the torque it applies to a command is what it decoded."""
    st = C.VirtualMotorState()
    st.protocol, st.device_id, st.host_id, st.joint = PROTO[protocol], 3, host_id, 0
    st.p_max, st.v_max, st.kp_max, st.kd_max, st.t_max = (ranges.p_max, ranges.v_max, ranges.kp_max, ranges.kd_max,
                                                          ranges.t_max)
    model = C.VirtualMotorModel()
    model.inertia_kgm2, model.viscous_nm_s_rad, model.coulomb_nm, model.torque_limit_nm = 1e12, 0.0, 0.0, 1e12
    model.substeps = 1
    st.model, st.q, st.dq, st.tau, st.enabled = model, q, dq, tau, enabled
    responder = C.VirtualMotorResponder("d", -1, False, 0.001, 0)
    responder.add_motor(st)
    return responder


@pytest.mark.parametrize("protocol", P.PROTOCOLS)
def test_host_and_device_codecs_agree(protocol):
    """C++ host encoder -> device decoder (the torque the motor applies), and device encoder -> C++ host decoder."""
    rng = random.Random(P.PROTOCOLS.index(protocol))
    ranges = C.default_ranges(PROTO[protocol])
    py_ranges = P.Ranges(ranges.p_max, ranges.v_max, ranges.kp_max, ranges.kd_max, ranges.t_max)
    for key, value in vars(P.DEFAULT_RANGES[protocol]).items():
        assert getattr(py_ranges, key) == pytest.approx(value, rel=1e-7)  # C++ keeps them in float
    bits = dict(zip(("p", "v", "kp", "kd", "t"), P.FIELD_BITS[protocol]))
    lsb = {"p": 2 * ranges.p_max / ((1 << bits["p"]) - 1), "v": 2 * ranges.v_max / ((1 << bits["v"]) - 1),
           "kp": ranges.kp_max / ((1 << bits["kp"]) - 1), "kd": ranges.kd_max / ((1 << bits["kd"]) - 1),
           "t": 2 * ranges.t_max / ((1 << bits["t"]) - 1)}
    host_id = P.default_host_id(protocol, 3)
    for _ in range(100):
        q, dq = rng.uniform(-ranges.p_max, ranges.p_max), rng.uniform(-ranges.v_max, ranges.v_max)
        kp, kd, tau = rng.uniform(0, ranges.kp_max), rng.uniform(0, ranges.kd_max), rng.uniform(-ranges.t_max, ranges.t_max)
        q0, dq0 = rng.uniform(-1, 1), rng.uniform(-1, 1)
        # Each command field reaches the motor's torque: tau_ff alone, kp (q* - q0), kd (dq* - dq0) (with
        # tau_ff = 0, which decodes within one LSB of 0: truncation puts 0 just below mid-range).
        for fields, applied, tolerance in (
                ((q, dq, 0.0, 0.0, tau), tau, lsb["t"]),
                ((q, dq, kp, 0.0, 0.0), kp * (q - q0), kp * lsb["p"] + abs(q - q0) * lsb["kp"] + lsb["t"]),
                ((q, dq, 0.0, kd, 0.0), kd * (dq - dq0), kd * lsb["v"] + abs(dq - dq0) * lsb["kd"] + lsb["t"])):
            motor = device_motor(protocol, ranges, host_id, q=q0, dq=dq0)
            can_id, extended, payload = encode(protocol, ranges, *fields, device=3, host=host_id)
            assert len(motor.handle(can_id, extended, payload)) == 1
            assert abs(motor.motors()[0].tau - applied) <= 1.01 * tolerance + 1e-9
        # The reply carries the state the command found.
        motor = device_motor(protocol, ranges, host_id, q=q, dq=dq, tau=tau, enabled=False)
        [(rid, rext, rpayload)] = motor.handle(*encode(protocol, ranges, 0.0, 0.0, 0.0, 0.0, 0.0, device=3, host=host_id))
        assert (rid, rext) == tuple(C.reply_id(PROTO[protocol], 3, host_id))
        out = C.decode_reply(PROTO[protocol], ranges, 3, rid, rext, rpayload)
        reply_bits = 16 if protocol == "robstride" else 12
        assert abs(out["q"] - q) <= 1.01 * 2 * ranges.p_max / 65535
        assert abs(out["dq"] - dq) <= 1.01 * 2 * ranges.v_max / ((1 << reply_bits) - 1)
        assert abs(out["tau"] - tau) <= 1.01 * 2 * ranges.t_max / ((1 << reply_bits) - 1)
