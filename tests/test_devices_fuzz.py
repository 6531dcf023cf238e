"""Every parser under hypothesis: only the documented exceptions, and never a frame with a wrong CRC accepted."""

from __future__ import annotations

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from humanoid_rt.devices import modbus
from humanoid_rt.devices import robotiq_ft as ft
from humanoid_rt.devices import tactile
from humanoid_rt.devices import witmotion as wm
from humanoid_rt.devices.framing import FormatError

FORMATS = {
    "tactile": (tactile.make_scanner, tactile.decode_frame),
    "robotiq_ft": (ft.make_scanner, ft.decode_frame),
    "witmotion": (wm.make_scanner, wm.decode_packet),
}

tactile_frames = st.builds(
    lambda seq, shape, seed: tactile.encode_frame(
        seq, np.random.default_rng(seed).integers(0, 65536, shape, dtype=np.uint16)),
    st.integers(0, 2**32 - 1), st.tuples(st.integers(1, 6), st.integers(1, 6)), st.integers(0, 2**32))
ft_frames = st.builds(lambda raw: ft.encode_frame(np.array(raw) / ft.SCALE),
                      st.lists(st.integers(-32767, 32767), min_size=6, max_size=6))
wm_frames = st.builds(lambda kind, raw: wm.encode_packet(kind, tuple(raw)), st.sampled_from([0x51, 0x52, 0x53, 0x59]),
                      st.lists(st.integers(-32768, 32767), min_size=4, max_size=4))
VALID = {"tactile": tactile_frames, "robotiq_ft": ft_frames, "witmotion": wm_frames}


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(cut, len(data)) for cut in cuts}) + [len(data)]
    pieces, start = [], 0
    for point in points:
        pieces.append(data[start:point])
        start = point
    return pieces


def _check_scanner(name, stream, cuts):
    make_scanner, decode = FORMATS[name]
    scanner = make_scanner()
    frames = [frame for piece in chunked(stream, cuts) for frame in scanner.feed(piece)]
    for frame in frames:
        decode(frame)  # raises FormatError if a frame with a bad CRC/checksum got through
    counters = scanner.counters
    assert counters.frames == len(frames)
    position = 0  # each frame is a slice of the stream, in order, never overlapping another
    for frame in frames:
        found = stream.find(frame, position)
        assert found >= 0, frame.hex()
        position = found + len(frame)
    # A failed check always skips bytes (a resync run); with no resync, the frames are the stream's
    # bytes from its first one, back to back.
    assert counters.crc_errors == 0 or counters.resyncs > 0
    assert counters.resyncs > 0 or stream.startswith(b"".join(frames))
    return frames, counters


@settings(max_examples=150, deadline=None)
@given(name=st.sampled_from(sorted(FORMATS)), stream=st.binary(max_size=2000),
       cuts=st.lists(st.integers(0, 2000), max_size=8))
def test_scanners_on_random_bytes_never_raise_and_only_return_checked_frames(name, stream, cuts):
    _check_scanner(name, stream, cuts)


@settings(max_examples=150, deadline=None)
@given(data=st.data(), name=st.sampled_from(sorted(FORMATS)), cuts=st.lists(st.integers(0, 4000), max_size=8))
def test_every_valid_frame_is_recovered_between_sync_free_garbage(data, name, cuts):
    scanner = FORMATS[name][0]()
    sync_bytes = set(scanner.sync)
    garbage = st.binary(max_size=40).map(lambda raw: bytes(b for b in raw if b not in sync_bytes))
    parts = data.draw(st.lists(st.tuples(garbage, VALID[name]), min_size=1, max_size=8))
    stream = b"".join(junk + frame for junk, frame in parts)
    frames, counters = _check_scanner(name, stream, cuts)
    assert frames == [frame for _, frame in parts]
    assert counters.crc_errors == 0
    assert counters.resyncs == sum(1 for junk, _ in parts if junk)


@settings(max_examples=200, deadline=None)
@given(data=st.data(), name=st.sampled_from(sorted(FORMATS)))
def test_a_corrupted_frame_is_never_accepted_and_the_next_frame_survives(data, name):
    first, second = data.draw(VALID[name]), data.draw(VALID[name])
    index = data.draw(st.integers(0, len(first) - 1))
    flip = data.draw(st.integers(1, 255))
    corrupt = first[:index] + bytes([first[index] ^ flip]) + first[index + 1:]
    frames, _ = _check_scanner(name, corrupt + second, [])
    assert corrupt not in frames or corrupt == first
    if name != "witmotion":  # an 8-bit sum can be fooled by bytes that shift into line; CRCs are not
        assert frames[-1:] == [second]


def _sync_positions(stream: bytes, sync: bytes) -> list[int]:
    positions, at = [], stream.find(sync)
    while at >= 0:
        positions.append(at)
        at = stream.find(sync, at + 1)
    return positions


@settings(max_examples=150, deadline=None)
@given(data=st.data(), name=st.sampled_from(sorted(FORMATS)), cuts=st.lists(st.integers(0, 400), max_size=8))
def test_known_bad_frames_count_exactly_one_crc_error_each_and_one_resync_per_run(data, name, cuts):
    """Frames whose CRC/checksum byte is corrupted, among good ones: each is one crc_error, each run of
    consecutive bad frames one resync, and every good frame comes out, in order."""
    sync = FORMATS[name][0]().sync
    frames = data.draw(st.lists(VALID[name], min_size=1, max_size=10))
    bad = data.draw(st.lists(st.booleans(), min_size=len(frames), max_size=len(frames)))
    flips = data.draw(st.lists(st.integers(1, 255), min_size=len(frames), max_size=len(frames)))
    sent = [frame[:-1] + bytes([frame[-1] ^ flip]) if is_bad else frame
            for frame, is_bad, flip in zip(frames, bad, flips)]  # the last byte is the CRC/checksum's
    stream = b"".join(sent)
    starts = [sum(len(f) for f in sent[:i]) for i in range(len(sent))]
    # The exact counts hold when a sync pattern occurs only at frame starts (a sync inside a payload is a
    # candidate of its own: test_scanners_on_random_bytes covers that case).
    assume(_sync_positions(stream, sync) == starts)
    got, counters = _check_scanner(name, stream, cuts)
    assert got == [frame for frame, is_bad in zip(frames, bad) if not is_bad]
    assert counters.crc_errors == sum(bad)
    runs_of_bad = sum(1 for i, is_bad in enumerate(bad) if is_bad and (i == 0 or not bad[i - 1]))
    assert counters.resyncs == runs_of_bad
    assert counters.frames == len(frames) - sum(bad)


@settings(max_examples=300, deadline=None)
@given(frame=st.binary(max_size=300), count=st.integers(1, 125), slave=st.integers(1, 247))
def test_modbus_parsers_raise_only_their_documented_errors(frame, count, slave):
    for parse in (lambda: modbus.parse_read_holding_response(frame, slave, count),
                  lambda: modbus.parse_write_multiple_response(frame, slave, 1486, count)):
        try:
            parse()
        except modbus.ModbusError:
            pass
        else:
            assert modbus.crc_ok(frame)  # accepted only with a valid CRC
    try:
        modbus.parse_request(frame)
    except FormatError:
        pass
    else:
        assert modbus.crc_ok(frame)
    for decode in (ft.decode_frame, tactile.decode_frame, wm.decode_packet):
        try:
            decode(frame)
        except FormatError:
            pass


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.integers(0, 0xFFFF), min_size=1, max_size=125), slave=st.integers(1, 247),
       index=st.integers(0, 300), flip=st.integers(1, 255))
def test_modbus_response_round_trip_and_single_byte_errors(values, slave, index, flip):
    frame = modbus.read_holding_response(slave, values)
    assert modbus.parse_read_holding_response(frame, slave, len(values)) == tuple(values)
    index %= len(frame)
    corrupt = frame[:index] + bytes([frame[index] ^ flip]) + frame[index + 1:]
    try:
        modbus.parse_read_holding_response(corrupt, slave, len(values))
    except modbus.ModbusError:
        pass
    else:
        raise AssertionError("a corrupted response was accepted")
