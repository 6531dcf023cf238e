"""The teleop receiver against firmware_interfaces/teleop/PROTOCOL.md, as an outside reader would check it.

Packets here are built byte by byte from the spec's tables with struct and hmac (not with
humanoid_rt.teleop.protocol), so the parser and the receiver are checked against the document, not
against our own encoder. Stepped mode: the loopback sender waits until the receiver handled a packet.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import struct
from pathlib import Path

import numpy as np
import pytest

from humanoid_rt import _core
from conftest import TELEOP_KEY, enable_active

T = _core.teleop
SPEC = Path(__file__).resolve().parents[1] / "firmware_interfaces" / "teleop" / "PROTOCOL.md"
KEY = TELEOP_KEY
OTHER_KEY = bytes(range(100, 132))

# Header (48 bytes): magic, version u8, kind u8, flags u16, session_id u64, sequence u64, sender_time_ns i64,
# due_in_us u32, ttl_us u32, count u16, record_bytes u16, reserved u32 -- little-endian, no padding.
HEADER = struct.Struct("<4sBBHQQqIIHHI")
JOINT = struct.Struct("<HHfffff")  # index, reserved, q, dq, tau_ff, kp, kd
ESTOP = 0x0001


def header(*, kind=1, flags=0, session=1, sequence=1, sender_time_ns=0, due_in_us=20_000, ttl_us=100_000, count=1,
           record_bytes=24, magic=b"HRTP", version=1, reserved=0) -> bytes:
    return HEADER.pack(magic, version, kind, flags, session, sequence, sender_time_ns, due_in_us, ttl_us, count,
                       record_bytes, reserved)


def joint(index, q) -> bytes:
    return JOINT.pack(index, 0, q, 0.0, 0.0, 0.0, 0.0)


def signed(body: bytes, key: bytes = KEY) -> bytes:
    """The tag: HMAC-SHA256(key, every byte before the tag)."""
    return body + hmac.new(key, body, hashlib.sha256).digest()


def joint_packet(targets: dict[int, float], key=KEY, **fields) -> bytes:
    fields.setdefault("count", len(targets))
    return signed(header(**fields) + b"".join(joint(i, q) for i, q in targets.items()), key)


def test_the_byte_builder_reproduces_the_spec_vectors():
    text = SPEC.read_text()
    key = bytes.fromhex(re.search(r"Key \(32 bytes, hex\): `([0-9a-f]+)`", text).group(1))
    vectors = [bytes.fromhex(block) for block in re.findall(r"```\n([0-9a-f]+)\n```", text)]
    session = 0x0123456789ABCDEF
    assert joint_packet({0: 0.25, 30: -1.0}, key, session=session, sequence=1, sender_time_ns=1_000_000_000,
                        ttl_us=100_000) == vectors[0]
    assert signed(header(flags=ESTOP, session=session, sequence=2, sender_time_ns=1_010_000_000, count=0),
                  key) == vectors[1]
    pose = struct.pack("<HH3f4f", 1, 0, 0.5, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0)
    assert signed(header(kind=2, session=7, sequence=1, sender_time_ns=5, record_bytes=32) + pose, key) == vectors[2]
    base_target = struct.pack("<4f", -0.08, 0.0, 0.125, 0.0)  # height offset [m], roll, pitch, yaw [rad]
    assert signed(header(kind=4, session=7, sequence=2, sender_time_ns=5, due_in_us=500_000, record_bytes=16)
                  + base_target, key) == vectors[3]


GOOD = joint_packet({0: 0.0})  # 48 + 24 + 32 = 104 bytes


def resigned_header(packet: bytes, **fields) -> bytes:
    """The same records with a changed header, signed again with the right key."""
    return signed(header(**fields) + packet[48:-32])


# Each rejection reason of the spec's table, with packets that would also fail a later rule: the earlier
# rule must name it (cheap checks first, no HMAC computed for a datagram of the wrong length).
CASES = [
    ("79 bytes", b"HRTP" + bytes(75), "truncated", "length: 79 bytes; allowed: 80..1616"),
    ("a valid packet cut by one byte", GOOD[:-1], "truncated", "the header declares 104"),
    ("count 2 with one record, signed", resigned_header(GOOD, count=2), "truncated", "the header declares 128"),
    ("cut short with a bad magic", b"XXXX" + GOOD[4:-1], "truncated", "the header declares 104"),
    ("1617 bytes", GOOD + bytes(1513), "oversized", "length: 1617 bytes; allowed: 80..1616"),
    ("a valid packet padded by one byte", GOOD + b"\x00", "oversized", "the header declares 104"),
    ("padded and signed over the padding", signed(GOOD[:-32] + bytes(24)), "oversized", "the header declares 104"),
    ("count 0 with one record, signed", resigned_header(GOOD, count=0, flags=ESTOP), "oversized",
     "the header declares 80"),
    ("padded with a bad version", GOOD[:4] + b"\x02" + GOOD[5:] + b"\x00", "oversized", "the header declares 104"),
    ("bad magic, signed", resigned_header(GOOD, magic=b"HRTQ"), "bad_magic", "allowed: 48525450"),
    ("bad magic and a bad tag", b"HRTQ" + GOOD[4:-1] + b"\x00", "bad_magic", "allowed: 48525450"),
    ("version 2, signed", resigned_header(GOOD, version=2), "bad_version", "version: 2; allowed: 1"),
    ("version 0 and a bad tag", GOOD[:4] + b"\x00" + GOOD[5:-1] + b"\x00", "bad_version", "version: 0; allowed: 1"),
    ("another key", joint_packet({0: 0.0}, OTHER_KEY), "bad_auth", "HMAC-SHA256 mismatch"),
    ("a changed target", GOOD[:52] + struct.pack("<f", 0.5) + GOOD[56:], "bad_auth", "mismatch"),
    ("a changed tag", GOOD[:-1] + bytes([GOOD[-1] ^ 1]), "bad_auth", "mismatch"),
    ("record_bytes 8 for kind 1, length matching", signed(header(record_bytes=8) + bytes(8)), "bad_field",
     "record_bytes: 8; allowed: 24 for kind 1"),
    ("kind 9, length matching", resigned_header(GOOD, kind=9), "bad_field", "kind: 9; allowed: 1 (joints)"),
    ("count 65 of kind 1, length matching", signed(header(count=65) + bytes(65 * 24)), "oversized",
     "length: 1640 bytes; allowed: 80..1616"),
]


@pytest.mark.parametrize("packet,reason,message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_rejection_reason_in_the_specs_order(packet, reason, message):
    result = T.parse(packet, KEY)
    assert result["reason"] == reason, result["message"]
    assert message in result["message"]


def test_the_good_packet_parses():
    result = T.parse(GOOD, KEY)
    assert result["reason"] == "none" and [(r["index"], r["q"]) for r in result["records"]] == [(0, 0.0)]


def stamped(robot, sequence, targets=None, **fields) -> bytes:
    """A joint packet of session 1 stamped with the loop's clock (the simulated sender shares it)."""
    fields.setdefault("sender_time_ns", int(round(robot.now() * 1e9)))
    return joint_packet({0: 0.0} if targets is None else targets, sequence=sequence, **fields)


def test_the_receiver_counts_length_errors_of_a_valid_packet_before_authentication(teleop_robot):
    robot, sender = teleop_robot
    good = stamped(robot, 1)
    stats = sender.send(good[:-1])
    assert stats["rejected"]["truncated"] == 1 and stats["rejected"]["bad_auth"] == 0
    stats = sender.send(good + b"\x00")
    assert stats["rejected"]["oversized"] == 1 and stats["rejected"]["bad_auth"] == 0
    assert "the header declares 104" in stats["last_rejection"]
    stats = sender.send(good)  # the length errors did not consume the sequence number
    assert stats["accepted"] == 1 and stats["rejected_total"] == 2


def test_the_replay_window_is_64_sequences(teleop_robot):
    robot, sender = teleop_robot
    assert sender.send(stamped(robot, 100))["accepted"] == 1
    stats = sender.send(stamped(robot, 37))  # 63 behind the newest: inside the window, unseen
    assert stats["rejected"]["reordered"] == 1 and stats["rejected"]["replayed"] == 0
    stats = sender.send(stamped(robot, 37))  # a reordered packet is remembered: its copy is a replay
    assert stats["rejected"]["replayed"] == 1
    stats = sender.send(stamped(robot, 36))  # 64 behind: outside the window
    assert stats["rejected"]["replayed"] == 2
    stats = sender.send(stamped(robot, 100))
    assert stats["rejected"]["replayed"] == 3 and stats["accepted"] == 1


def test_a_start_gated_packet_holds_its_session(teleop_robot):
    robot, sender = teleop_robot
    stats = sender.send(stamped(robot, 1, {0: 0.85}))  # 0.85 rad from the measured 0 > gate 0.8
    assert stats["rejected"]["start_gate"] == 1 and stats["session_id"] == 1
    robot.step(50)  # within the refused packet's ttl (0.1 s)
    stats = sender.send(stamped(robot, 1, session=2))
    assert stats["rejected"]["session_conflict"] == 1
    robot.step(101)  # session 1 silent past its ttl: session 2 takes over
    stats = sender.send(stamped(robot, 1, session=2))
    assert stats["accepted"] == 1 and stats["session_id"] == 2
    # and the refused packet's sequence number was consumed: session 1 is retired now, and was at 1
    stats = sender.send(stamped(robot, 2, session=1))
    assert stats["rejected"]["replayed"] == 1


def test_a_replayed_estop_still_stops_and_counts_as_estop_and_replayed(teleop_robot):
    robot, sender = teleop_robot
    estop = signed(header(flags=ESTOP, count=0, sequence=1, sender_time_ns=int(robot.now() * 1e9)))
    stats = sender.send(estop)
    assert stats["accepted"] == 1 and stats["estops"] == 1
    assert robot.step(1).supervisor_state == "ESTOP"
    robot.reset()
    robot.step(1)
    enable_active(robot)
    stats = sender.send(estop)
    assert stats["estops"] == 2 and stats["rejected"]["replayed"] == 1 and stats["accepted"] == 1
    assert robot.step(1).supervisor_state == "ESTOP"
    # An e-stop from a session that may not take over (another one streams) stops too.
    robot.reset()
    robot.step(1)
    enable_active(robot)
    assert sender.send(stamped(robot, 2))["accepted"] == 2
    other = signed(header(flags=ESTOP, count=0, session=5, sequence=1, sender_time_ns=int(robot.now() * 1e9)))
    stats = sender.send(other)
    assert stats["estops"] == 3 and stats["rejected"]["session_conflict"] == 1
    assert robot.step(1).supervisor_state == "ESTOP"
    # An e-stop that fails authentication does nothing.
    robot.reset()
    robot.step(1)
    enable_active(robot)
    stats = sender.send(signed(header(flags=ESTOP, count=0, sequence=3), OTHER_KEY))
    assert stats["estops"] == 3 and stats["rejected"]["bad_auth"] == 1
    assert robot.step(1).supervisor_state == "ACTIVE"


def test_engaged_targets_default_to_the_full_velocity_limit_and_half_a_radian_per_packet(teleop_robot):
    """Defaults: velocity_fraction 1.0 (of the 5 rad/s limit), max_step_rad 0.5."""
    robot, sender = teleop_robot
    ttl = 500_000  # dt between targets is clamped to the ttl: a long one lets the step limit bind
    stats = sender.send(stamped(robot, 1, {0: 0.0}, ttl_us=ttl))  # engages at the measured pose; no ramp clip
    assert stats["engagements"] == 1 and stats["clipped_velocity"] == 0
    robot.step(150)  # 0.15 s between targets: the velocity limit allows 0.75 rad, the step limit 0.5
    stats = sender.send(stamped(robot, 2, {0: 0.6}, ttl_us=ttl))
    assert stats["clipped_step"] == 1 and stats["clipped_velocity"] == 0
    robot.step(20)  # 0.02 s between targets: 0.02 s x 5 rad/s = 0.1 rad
    stats = sender.send(stamped(robot, 3, {0: 0.8}, ttl_us=ttl))
    assert stats["clipped_velocity"] == 1 and stats["clipped_step"] == 1
    robot.step(300)
    assert robot.state().supervisor_state == "ACTIVE"
    assert robot.state().q_ref[0] == pytest.approx(0.5 + 0.1, abs=1e-6)


def test_an_expired_packet_and_a_packet_while_not_enabled(teleop_robot):
    robot, sender = teleop_robot
    assert sender.send(stamped(robot, 1))["accepted"] == 1  # the session's clock mapping: this packet's delay
    robot.step(10)
    late = stamped(robot, 2, sender_time_ns=int(round((robot.now() - 0.5) * 1e9)))  # 0.5 s later than mapped
    stats = sender.send(late)
    assert stats["rejected"]["expired"] == 1 and "allowed: <= ttl 0.1000 s" in stats["last_rejection"]
    robot.disable()
    robot.step(300)
    assert robot.state().supervisor_state == "DISABLED"
    stats = sender.send(stamped(robot, 3))
    assert stats["rejected"]["not_active"] == 1 and "supervisor state: DISABLED" in stats["last_rejection"]
