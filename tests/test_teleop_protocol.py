"""The teleop codec: SHA-256/HMAC against hashlib and RFC 4231, the spec's test vectors,
Python builder <-> C++ parser round trips, and each parse-level rejection with its message."""

from __future__ import annotations

import hashlib
import hmac
import re
from pathlib import Path

import pytest

from humanoid_rt import _core
from humanoid_rt.teleop import protocol

T = _core.teleop
SPEC = Path(__file__).resolve().parents[1] / "firmware_interfaces" / "teleop" / "PROTOCOL.md"
KEY = bytes(range(32))


@pytest.mark.parametrize("length", [0, 1, 3, 55, 56, 63, 64, 65, 119, 120, 127, 128, 1000, 4097])
def test_sha256_matches_hashlib(length):
    data = bytes((i * 7 + 3) % 256 for i in range(length))
    assert T.sha256(data) == hashlib.sha256(data).digest()


# RFC 4231 test cases 1, 2, 3, 4, 6, 7 (5 is a truncated output).
RFC4231 = [
    (b"\x0b" * 20, b"Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
    (b"Jefe", b"what do ya want for nothing?", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
    (b"\xaa" * 20, b"\xdd" * 50, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
    (bytes(range(1, 26)), b"\xcd" * 50, "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
    (b"\xaa" * 131, b"Test Using Larger Than Block-Size Key - Hash Key First",
     "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
    (b"\xaa" * 131, b"This is a test using a larger than block-size key and a larger than block-size data. "
     b"The key needs to be hashed before being used by the HMAC algorithm.",
     "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
]


@pytest.mark.parametrize("key,data,expected", RFC4231)
def test_hmac_sha256_rfc4231(key, data, expected):
    assert T.hmac_sha256(key, data).hex() == expected
    assert hmac.new(key, data, hashlib.sha256).hexdigest() == expected


def test_hmac_matches_python_for_many_key_and_data_lengths():
    for key_len in (0, 1, 16, 32, 63, 64, 65, 200):
        for data_len in (0, 1, 48, 80, 1616):
            key, data = bytes(range(key_len % 256)) * (key_len // 256 + 1), bytes(data_len)
            key = key[:key_len]
            assert T.hmac_sha256(key, data) == hmac.new(key, data, hashlib.sha256).digest()


def spec_vectors():
    text = SPEC.read_text()
    key = bytes.fromhex(re.search(r"Key \(32 bytes, hex\): `([0-9a-f]+)`", text).group(1))
    return key, [bytes.fromhex(block) for block in re.findall(r"```\n([0-9a-f]+)\n```", text)]


def test_spec_test_vectors_match_the_builder_and_parse():
    key, vectors = spec_vectors()
    assert len(vectors) == 4
    built = [
        protocol.joint_packet(key, [0, 30], [0.25, -1.0], session_id=0x0123456789ABCDEF, sequence=1,
                              sender_time_ns=1_000_000_000, due_in_s=0.02, ttl_s=0.1),
        protocol.estop_packet(key, session_id=0x0123456789ABCDEF, sequence=2, sender_time_ns=1_010_000_000),
        protocol.pose_packet(key, [(1, (0.5, 0.0, 1.0), (1.0, 0.0, 0.0, 0.0))], session_id=7, sequence=1,
                             sender_time_ns=5),
        protocol.base_target_packet(key, -0.08, (0.0, 0.125, 0.0), session_id=7, sequence=2, sender_time_ns=5,
                                    due_in_s=0.5),
    ]
    assert built == vectors
    first = T.parse(vectors[0], key)
    assert first["reason"] == "none" and first["kind"] == 1 and first["sequence"] == 1
    assert [(r["index"], r["q"]) for r in first["records"]] == [(0, 0.25), (30, -1.0)]
    assert T.parse(vectors[1], key)["estop"] is True
    assert T.parse(vectors[2], key)["records"][0]["position"] == (0.5, 0.0, 1.0)
    base = T.parse(vectors[3], key)
    assert base["kind"] == 4 and base["due_in_us"] == 500000
    assert base["records"] == [{"height_offset_m": pytest.approx(-0.08), "rpy": (0.0, 0.125, 0.0)}]
    # Every single-byte change is rejected.
    for vector in vectors:
        for i in range(len(vector)):
            changed = bytearray(vector)
            changed[i] ^= 0x01
            assert T.parse(bytes(changed), key)["reason"] != "none", i


def test_round_trip_of_every_kind_and_flag():
    fields = dict(session_id=9, sequence=3, sender_time_ns=-5)
    p = T.parse(protocol.joint_packet(KEY, [2, 1], [0.5, -0.5], dq=[1.0, -1.0], tau_ff=[2.0, 0.0], kp=[10.0, 20.0],
                                      kd=[1.0, 2.0], estop=True, due_in_s=0.05, ttl_s=0.2, **fields), KEY)
    assert p["reason"] == "none" and p["flags"] == 0xF and p["due_in_us"] == 50000 and p["ttl_us"] == 200000
    assert p["sender_time_ns"] == -5
    assert p["records"][0] == {"index": 2, "q": 0.5, "dq": 1.0, "tau_ff": 2.0, "kp": 10.0, "kd": 1.0}
    h = T.parse(protocol.hand_packet(KEY, {"right": 0.25, "left": 1.0}, **fields), KEY)
    assert h["kind"] == 3 and [(r["hand"], r["grip"]) for r in h["records"]] == [(1, 0.25), (0, 1.0)]
    full = protocol.joint_packet(KEY, list(range(64)), [0.0] * 64, **fields)
    assert len(full) == protocol.MAX_PACKET_BYTES == T.MAX_PACKET_BYTES
    assert T.parse(full, KEY)["reason"] == "none"


F = dict(session_id=1, sequence=1, sender_time_ns=0)


@pytest.mark.parametrize("packet,reason,message", [
    (b"\x00" * 79, "truncated", "length: 79 bytes; allowed: 80..1616"),
    (b"HRTP" + b"\x01" * 2000, "oversized", "length: 2004 bytes; allowed: 80..1616"),
    (protocol.joint_packet(KEY, [0], [0.0], **F, magic=b"HRTQ"), "bad_magic", "allowed: 48525450"),
    (protocol.joint_packet(KEY, [0], [0.0], **F, version=0), "bad_version", "version: 0; allowed: 1"),
    (protocol.joint_packet(b"x" * 32, [0], [0.0], **F), "bad_auth", "HMAC-SHA256 mismatch"),
    # One byte cut before the tag: the declared length is checked before the tag (PROTOCOL.md rule 1).
    (protocol.joint_packet(KEY, [0], [0.0], **F)[:-33] + protocol.joint_packet(KEY, [0], [0.0], **F)[-32:],
     "truncated", "length: 103 bytes; the header declares 104"),
    (protocol.encode(KEY, 1, b"", 1, **F), "truncated", "the header declares 104"),
    (protocol.encode(KEY, 1, bytes(48), 1, **F), "oversized", "the header declares 104"),
    (protocol.encode(KEY, 5, b"", 0, **F, record_bytes=8), "bad_field", "kind: 5; allowed: 1 (joints)"),
    (protocol.encode(KEY, 4, b"", 0, **F, record_bytes=8), "bad_field", "record_bytes: 8; allowed: 16 for kind 4"),
    (protocol.encode(KEY, 4, bytes(32), 2, **F), "bad_field", "count: 2; allowed: 0..1 for kind 4"),
    (protocol.base_target_packet(KEY, -0.08, **F, flags=2), "bad_field", "only with kind 1"),
    (protocol.encode(KEY, 4, b"", 0, **F), "bad_field", "count: 0; allowed: 1..1 (0 only with the estop flag)"),
    (protocol.base_target_packet(KEY, 1.5, **F), "bad_field", "base_target.height_offset_m: 1.5; allowed: finite"),
    (protocol.base_target_packet(KEY, float("nan"), **F), "bad_field", "base_target.height_offset_m: nan"),
    (protocol.base_target_packet(KEY, 0.0, (0.0, 4.0, 0.0), **F), "bad_field", "base_target.pitch_rad: 4; allowed"),
    (protocol.base_target_packet(KEY, 0.0, (float("inf"), 0.0, 0.0), **F), "bad_field", "base_target.roll_rad: inf"),
    (protocol.base_target_packet(KEY, 0.0, (0.0, 0.0, -3.5), **F), "bad_field", "base_target.yaw_rad: -3.5"),
    (protocol.encode(KEY, 1, b"", 0, **F, record_bytes=8), "bad_field", "record_bytes: 8; allowed: 24"),
    (protocol.encode(KEY, 3, bytes(24), 3, **F), "bad_field", "count: 3; allowed: 0..2 for kind 3"),
    (protocol.encode(KEY, 1, b"", 0, **F), "bad_field", "count: 0; allowed: 1..64 (0 only with the estop flag)"),
    (protocol.joint_packet(KEY, [0], [0.0], **F, flags=0x10), "bad_field", "flags: 0x0010; allowed: bits 0x000f"),
    (protocol.pose_packet(KEY, [(0, (0, 0, 0), (1, 0, 0, 0))], **F, flags=2), "bad_field", "only with kind 1"),
    (protocol.joint_packet(KEY, [0], [0.0], session_id=0, sequence=1, sender_time_ns=0), "bad_field", "session_id: 0"),
    (protocol.joint_packet(KEY, [0], [0.0], session_id=1, sequence=0, sender_time_ns=0), "bad_field", "sequence: 0"),
    (protocol.encode(KEY, 1, protocol.JOINT_RECORD.pack(0, 0, 0, 0, 0, 0, 0), 1, **F, due_in_us=2_000_000),
     "bad_field", "due_in_us: 2000000; allowed: 0..1000000"),
    (protocol.encode(KEY, 1, protocol.JOINT_RECORD.pack(0, 0, 0, 0, 0, 0, 0), 1, **F, ttl_us=0),
     "bad_field", "ttl_us: 0; allowed: 1000..10000000"),
    (protocol.encode(KEY, 1, protocol.JOINT_RECORD.pack(0, 0, 0, 0, 0, 0, 0), 1, **F, reserved=1),
     "bad_field", "reserved (bytes 44..47)"),
    (protocol.joint_packet(KEY, [64], [0.0], **F), "bad_field", "joints[0].index: 64; allowed: 0..63"),
    (protocol.joint_packet(KEY, [1, 1], [0.0, 0.0], **F), "bad_field", "joints[1].index: 1 repeated"),
    (protocol.joint_packet(KEY, [0], [float("nan")], **F), "bad_field", "joints[0].q: nan; allowed: finite"),
    (protocol.joint_packet(KEY, [0], [200.0], **F), "bad_field", "joints[0].q: 200; allowed: finite, -100..100 rad"),
    (protocol.encode(KEY, 1, protocol.JOINT_RECORD.pack(0, 0, 0, 1.0, 0, 0, 0), 1, **F), "bad_field",
     "joints[0].dq: 1; allowed: 0 (velocity flag unset)"),
    (protocol.joint_packet(KEY, [0], [0.0], dq=[float("inf")], **F), "bad_field", "joints[0].dq: inf"),
    (protocol.joint_packet(KEY, [0], [0.0], kp=[-1.0], kd=[0.0], **F), "bad_field", "joints[0].kp: -1"),
    (protocol.joint_packet(KEY, [0], [0.0], tau_ff=[1e5], **F), "bad_field", "joints[0].tau_ff: 100000"),
    (protocol.encode(KEY, 1, protocol.JOINT_RECORD.pack(0, 5, 0, 0, 0, 0, 0), 1, **F), "bad_field",
     "joints[0].reserved"),
    (protocol.pose_packet(KEY, [(0, (0, 0, 200), (1, 0, 0, 0))], **F), "bad_field", "poses[0].position[2]: 200"),
    (protocol.pose_packet(KEY, [(0, (0, 0, 0), (0.5, 0, 0, 0))], **F), "bad_field", "poses[0].quaternion: norm 0.5"),
    (protocol.hand_packet(KEY, {2: 0.5}, **F), "bad_field", "hands[0].hand: 2; allowed: 0 (left), 1 (right)"),
    (protocol.hand_packet(KEY, {"left": 1.5}, **F), "bad_field", "hands[0].grip: 1.5; allowed: finite, 0 (open)..1"),
])
def test_each_rejection_names_the_field_and_the_allowed_values(packet, reason, message):
    result = T.parse(packet, KEY)
    assert result["reason"] == reason
    assert message in result["message"]


def test_builder_errors_name_the_field(tmp_path):
    with pytest.raises(ValueError, match=r"ttl_s: 0.0 s; allowed: 0.001..10 s"):
        protocol.joint_packet(KEY, [0], [0.0], ttl_s=0.0, **F)
    with pytest.raises(ValueError, match="kp, kd: give both"):
        protocol.joint_packet(KEY, [0], [0.0], kp=[1.0], **F)
    with pytest.raises(ValueError, match=r"allowed: udp://HOST:PORT"):
        protocol.parse_url("tcp://1.2.3.4:5")
    with pytest.raises(ValueError, match="teleop port: 'x'"):
        protocol.parse_url("udp://1.2.3.4:x")
    assert protocol.parse_url("udp://:9000") == ("127.0.0.1", 9000)
    short = tmp_path / "short.key"
    short.write_text("abcd\n")
    with pytest.raises(ValueError, match="2 bytes; allowed: at least 16 bytes"):
        protocol.load_key(short)
    with pytest.raises(ValueError, match="cannot read"):
        protocol.load_key(tmp_path / "missing.key")
    key = protocol.write_key(tmp_path / "new.key")
    assert protocol.load_key(tmp_path / "new.key") == key and len(key) == 32
    assert (tmp_path / "new.key").stat().st_mode & 0o077 == 0


def test_one_keyed_context_checks_many_packets_in_a_row():
    # The receiver keys one libcrypto context and re-initialises it per packet: a forged packet
    # between good ones must not leave state behind that changes the next check.
    good = [protocol.joint_packet(KEY, [0, 1], [0.1 * i, 0.2], session_id=1, sequence=i + 1, sender_time_ns=0)
            for i in range(50)]
    forged = [p[:-1] + bytes([p[-1] ^ 1]) for p in good]
    batch = [packet for pair in zip(good, forged) for packet in pair]
    codes = T.parse_batch(batch, KEY, False)
    bad_auth = T.REJECT_REASONS.index("bad_auth")
    assert list(codes) == [0, bad_auth] * 50
    assert list(T.parse_batch(good, b"another key", False)) == [bad_auth] * 50
