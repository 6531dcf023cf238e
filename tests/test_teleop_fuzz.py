"""Fuzzing the C++ teleop parser with hypothesis: >= 100,000 inputs per run, zero crashes.

Inputs go to the parser in batches (one C++ call per example) so the run takes seconds:
random bytes, mutations of valid packets (bit flips, byte writes, truncation, extension),
and the same mutations re-signed with the right key so they reach the field checks.
"""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from humanoid_rt import _core
from humanoid_rt.teleop import protocol

T = _core.teleop
KEY = b"fuzz-key-0123456789abcdef-000000"
BATCH = 1000
EXAMPLES = 40  # x 3 tests x BATCH inputs = 120,000
F = dict(session_id=3, sequence=4, sender_time_ns=5)
SEEDS = [
    protocol.joint_packet(KEY, [0, 5, 63], [0.1, -0.2, 0.3], dq=[1.0, 0.0, -1.0], tau_ff=[0.5, 0.0, 0.0],
                          kp=[10.0, 0.0, 5.0], kd=[1.0, 0.0, 0.5], **F),
    protocol.joint_packet(KEY, list(range(64)), [0.0] * 64, **F),
    protocol.pose_packet(KEY, [(1, (0.1, 0.2, 0.3), (1.0, 0.0, 0.0, 0.0))] * 4, **F),
    protocol.hand_packet(KEY, {"left": 0.5, "right": 1.0}, **F),
    protocol.base_target_packet(KEY, -0.08, (0.05, 0.1, -0.2), **F),
    protocol.estop_packet(KEY, **F),
]
REASONS = len(T.REJECT_REASONS)
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def mutate(rng: random.Random, packet: bytes) -> bytes:
    data = bytearray(packet)
    for _ in range(rng.randint(1, 4)):
        op = rng.random()
        if op < 0.4 and data:
            i = rng.randrange(len(data))
            data[i] ^= 1 << rng.randrange(8)
        elif op < 0.7 and data:
            i = rng.randrange(len(data))
            data[i] = rng.choice((0, 0xFF, 0x7F, 0x80, rng.randrange(256)))
        elif op < 0.85:
            del data[rng.randrange(len(data) + 1):]
        else:
            data += bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
    return bytes(data)


def check(codes, batch):
    assert len(codes) == len(batch)
    assert int(codes.max()) < REASONS


@SETTINGS
@given(st.lists(st.binary(min_size=0, max_size=1700), min_size=BATCH, max_size=BATCH))
def test_random_bytes(batch):
    codes = T.parse_batch(batch, KEY, False)
    check(codes, batch)
    assert int((codes == 0).sum()) == 0  # nothing random authenticates


@SETTINGS
@given(st.integers(0, 2**32 - 1))
def test_mutated_valid_packets(seed):
    rng = random.Random(seed)
    batch = [mutate(rng, rng.choice(SEEDS)) for _ in range(BATCH)]
    check(T.parse_batch(batch, KEY, False), batch)


@SETTINGS
@given(st.integers(0, 2**32 - 1))
def test_mutated_and_re_signed_packets_reach_the_field_checks(seed):
    rng = random.Random(seed)
    batch = [mutate(rng, rng.choice(SEEDS)) for _ in range(BATCH)]
    codes = T.parse_batch(batch, KEY, True)
    check(codes, batch)
    # Each accepted packet parses identically one at a time (the batch path is the same parser).
    for packet, code in list(zip(batch, codes))[:20]:
        if code == 0 and len(packet) >= 80:
            body = packet[:-32]
            assert T.parse(protocol.sign(body, KEY), KEY)["reason"] == "none"


def test_valid_seeds_parse():
    assert T.parse_batch(SEEDS, KEY, False).tolist() == [0] * len(SEEDS)
