"""The remote-policy wire format: round trips, every field checked with a clear error, fuzzed decoders."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from humanoid_rt.remote.policy_wire import (
    Chunk, ErrorReply, Observation, WireError, check_answers, decode_chunk, decode_error, decode_observation,
    encode_chunk, encode_error, encode_observation,
)

JOINTS = ("j0", "j1", "j2")


def observation(**changes) -> Observation:
    fields = dict(robot_id="arm-1", request_seq=4, t=12.5, episode_start=10.0, joints=JOINTS,
                  q=np.array([0.1, -0.2, 0.3]), dq=np.zeros(3), tau=np.array([1.0, 2.0, 3.0]), chunk_seq=3,
                  executed_index=7, leftover=np.arange(6.0).reshape(2, 3),
                  extras={"image": np.arange(12, dtype=np.uint8).reshape(2, 2, 3)})
    fields.update(changes)
    return Observation(**fields)


def chunk(**changes) -> Chunk:
    fields = dict(robot_id="arm-1", request_seq=4, joints=JOINTS, t0=12.5, dt=0.05,
                  actions=np.linspace(0, 1, 15).reshape(5, 3), policy="mlp", inference_s=0.001)
    fields.update(changes)
    return Chunk(**fields)


def rewrite_header(data: bytes, edit) -> bytes:
    """Decode the JSON header, let `edit` change it, re-pack (data section untouched)."""
    length = struct.unpack_from("<I", data, 8)[0]
    header = json.loads(data[12:12 + length])
    edit(header)
    text = json.dumps(header).encode()
    return data[:8] + struct.pack("<I", len(text)) + text + data[12 + length:]


def test_observation_and_chunk_round_trip_exactly():
    obs = observation()
    back = decode_observation(encode_observation(obs))
    assert (back.robot_id, back.request_seq, back.t, back.episode_start, back.joints, back.chunk_seq,
            back.executed_index) == ("arm-1", 4, 12.5, 10.0, JOINTS, 3, 7)
    for name in ("q", "dq", "tau", "leftover"):
        np.testing.assert_array_equal(getattr(back, name), getattr(obs, name))
    assert back.extras["image"].dtype == np.uint8 and back.extras["image"].shape == (2, 2, 3)
    np.testing.assert_array_equal(back.extras["image"], obs.extras["image"])
    policy_input = back.as_policy_input()
    assert policy_input["image"] is back.extras["image"] and policy_input["joints"] == JOINTS
    c = decode_chunk(encode_chunk(chunk()))
    np.testing.assert_array_equal(c.actions, chunk().actions)
    assert (c.t0, c.dt, c.policy, c.request_seq) == (12.5, 0.05, "mlp", 4)
    check_answers(c, back)
    e = decode_error(encode_error(ErrorReply("policy_exception", "boom", 4)))
    assert (e.reason, e.error, e.request_seq) == ("policy_exception", "boom", 4)


def test_float32_actions_are_accepted_and_widened():
    data = encode_chunk(chunk())
    c = chunk(actions=np.ones((2, 3), dtype=np.float32))
    from humanoid_rt.remote import policy_wire

    raw = policy_wire._pack(policy_wire.KIND_CHUNK, {k: v for k, v in vars(c).items() if k != "actions"} |
                            {"joints": list(JOINTS)}, {"actions": c.actions})
    assert decode_chunk(raw).actions.dtype == np.float64
    assert len(data) > len(raw)


@pytest.mark.parametrize("mutate, code, pattern", [
    (lambda d: b"XXXX" + d[4:], "garbage", r"magic: not a humanoid_rt policy message"),
    (lambda d: d[:4] + bytes([2]) + d[5:], "version", r"version: unsupported format version; allowed: 1 \(got 2\)"),
    (lambda d: d[:5] + bytes([9]) + d[6:], "kind", r"kind: unknown message kind"),
    (lambda d: d[:5] + bytes([2]) + d[6:], "kind", r"kind: expected an observation message"),
    (lambda d: d[:10], "garbage", r"shorter than the 12-byte prefix"),
    (lambda d: d[:-1], "garbage", r"runs past the end|length does not match"),
    (lambda d: d + b"\0", "garbage", r"\(data\): length does not match"),
    (lambda d: d[:8] + struct.pack("<I", 10 ** 6) + d[12:], "garbage", r"header_length: outside the message"),
    (lambda d: rewrite_header(d, lambda h: h.pop("robot_id")), "field", r"robot_id: missing"),
    (lambda d: rewrite_header(d, lambda h: h.update(robot_id="a b")), "field", r"robot_id: invalid; allowed: 1-64"),
    (lambda d: rewrite_header(d, lambda h: h.update(request_seq=-1)), "field", r"request_seq: invalid; allowed: an integer >= 0"),
    (lambda d: rewrite_header(d, lambda h: h.update(request_seq=True)), "field", r"request_seq: invalid"),
    (lambda d: rewrite_header(d, lambda h: h.update(t="soon")), "field", r"t: invalid; allowed: a number of seconds"),
    (lambda d: rewrite_header(d, lambda h: h.update(t=10 ** 400)), "field", r"t: invalid; allowed: a number of sec"),
    (lambda d: rewrite_header(d, lambda h: h["arrays"]["q"].update(shape=[10 ** 30] * 2)), "field", r"arrays.q.shape"),
    (lambda d: rewrite_header(d, lambda h: h.update(joints=["j"] * 300)), "field", r"joints: invalid; allowed: 1..256"),
    (lambda d: rewrite_header(d, lambda h: h.update(episode_start=99.0)), "field", r"episode_start: must be finite and not after t"),
    (lambda d: rewrite_header(d, lambda h: h.update(joints=["j0", "j0", "j2"])), "field", r"joints: names must be distinct"),
    (lambda d: rewrite_header(d, lambda h: h.update(joints=["j0", "j1"])), "shape", r"arrays.q: wrong shape; allowed: \(2\)"),
    (lambda d: rewrite_header(d, lambda h: h.update(joints=[])), "field", r"joints: invalid; allowed: 1..256"),
    (lambda d: rewrite_header(d, lambda h: h.update(colour="red")), "field", r"colour: unknown field"),
    (lambda d: rewrite_header(d, lambda h: h.update(chunk_seq=-1)), "field", r"executed_index: an executed index needs a chunk"),
    (lambda d: rewrite_header(d, lambda h: h["arrays"]["q"].update(dtype=">f8")), "field", r"arrays.q.dtype: unsupported dtype"),
    (lambda d: rewrite_header(d, lambda h: h["arrays"]["q"].update(nbytes=16)), "garbage", r"arrays.q.nbytes: does not match"),
    (lambda d: rewrite_header(d, lambda h: h["arrays"]["dq"].update(offset=0)), "garbage", r"arrays.dq.offset: arrays must be packed"),
    (lambda d: rewrite_header(d, lambda h: h["arrays"].pop("tau")), "garbage", r"length does not match|arrays.leftover.offset"),
    (lambda d: d[:12] + b"\xff" + d[13:], "garbage", r"header: not UTF-8 JSON"),
])
def test_bad_observations_name_the_field(mutate, code, pattern):
    with pytest.raises(WireError, match=pattern) as caught:
        decode_observation(mutate(encode_observation(observation())))
    assert caught.value.code == code


def test_nan_anywhere_is_refused_naming_the_element():
    data = bytearray(encode_observation(observation()))
    nan = struct.pack("<d", float("nan"))
    data[-len(nan) - 12:-12] = nan  # leftover[1][2]: the last 8 bytes before the 12-byte image
    with pytest.raises(WireError, match=r"leftover\[1\]\[2\]: must be finite") as caught:
        decode_observation(bytes(data))
    assert caught.value.code == "nonfinite"
    bad = bytearray(encode_chunk(chunk()))
    bad[-8:] = struct.pack("<d", float("inf"))
    with pytest.raises(WireError, match=r"actions\[4\]\[2\]: must be finite"):
        decode_chunk(bytes(bad))
    with pytest.raises(WireError, match=r"q\[1\]: must be finite"):
        encode_observation(observation(q=np.array([0.0, np.nan, 0.0])))  # the robot never sends one either


@pytest.mark.parametrize("changes, pattern", [
    (dict(actions=np.zeros((4, 2))), r"actions: one row per step, one column per joint; allowed: \(1..10000, 3\)"),
    (dict(actions=np.zeros((0, 3))), r"actions: one row per step"),
    (dict(dt=0.0), r"dt: must be a step in seconds; allowed: 0 < dt <= 10"),
    (dict(dt=float("nan")), r"dt: must be a step"),
    (dict(t0=float("inf")), r"t0: must be finite"),
    (dict(inference_s=-1.0), r"inference_s: must be a duration"),
])
def test_bad_chunks_are_refused_before_sending(changes, pattern):
    with pytest.raises(WireError, match=pattern):
        encode_chunk(chunk(**changes))


def test_a_reply_for_another_request_is_a_mismatch():
    obs = observation()
    for changes, name in ((dict(request_seq=5), "request_seq"), (dict(robot_id="arm-2"), "robot_id"),
                          (dict(joints=("j0", "j1", "j9")), "joints")):
        with pytest.raises(WireError, match=rf"{name}: the reply answers another request") as caught:
            check_answers(decode_chunk(encode_chunk(chunk(**changes))), obs)
        assert caught.value.code == "mismatch"


def test_extras_must_have_a_plain_name_and_a_supported_dtype():
    with pytest.raises(WireError, match=r"arrays.Image: not an extra observation name"):
        encode_observation(observation(extras={"Image": np.zeros(3)}))
    with pytest.raises(WireError, match=r"arrays.words.dtype: unsupported dtype"):
        encode_observation(observation(extras={"words": np.array(["a"])}))
    with pytest.raises(WireError, match=r"depth\[0\]: must be finite"):
        encode_observation(observation(extras={"depth": np.array([np.inf])}))


VALID = [encode_observation(observation()), encode_chunk(chunk()),
         encode_error(ErrorReply("bad_request", "no", -1))]
DECODERS = (decode_observation, decode_chunk, decode_error)


def _decode_or_refuse(data: bytes) -> None:
    for decoder in DECODERS:
        try:
            message = decoder(data)
        except WireError as error:
            assert error.code in ("garbage", "version", "kind", "field", "shape", "nonfinite")
            assert ": " in str(error) and "allowed: " in str(error)
            continue
        # Whatever decodes satisfies the invariants the robot relies on.
        if isinstance(message, Chunk):
            assert message.actions.ndim == 2 and message.actions.shape[1] == len(message.joints)
            assert np.all(np.isfinite(message.actions)) and message.dt > 0
        elif isinstance(message, Observation):
            assert message.q.shape == (len(message.joints),) and np.all(np.isfinite(message.leftover))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600))
def test_fuzzed_bytes_decode_or_raise_wire_error(data):
    _decode_or_refuse(data)
    _decode_or_refuse(b"HRTP\x01\x01\x00\x00" + data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(range(len(VALID))), st.lists(st.tuples(st.integers(0, 10 ** 6), st.integers(0, 255)),
                                                    min_size=1, max_size=6), st.integers(0, 10 ** 6))
def test_mutated_valid_messages_decode_or_raise_wire_error(which, flips, cut):
    data = bytearray(VALID[which])
    for position, value in flips:
        data[position % len(data)] = value
    _decode_or_refuse(bytes(data))
    _decode_or_refuse(bytes(data[:cut % (len(data) + 1)]))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(["robot_id", "request_seq", "t", "episode_start", "joints", "chunk_seq",
                                        "executed_index", "arrays", "extra"]),
                       st.recursive(st.none() | st.booleans() | st.integers(-10 ** 400, 10 ** 400) | st.floats(
                           allow_nan=False) | st.text(max_size=8),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                                       max_size=4), max_leaves=12)))
def test_fuzzed_headers_decode_or_raise_wire_error(fields):
    base = encode_observation(observation())
    _decode_or_refuse(rewrite_header(base, lambda h: h.update(fields)))
