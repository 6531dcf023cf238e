"""Parse throughput of each serial format: frames per second through the same scanner + decoder the readers run.

    python -m pytest bench/test_bench_devices.py --benchmark-only
`extra_info.frames_per_s` is the figure to compare with the devices' rates (100-500 Hz each).
"""

from __future__ import annotations

import numpy as np
import pytest

from humanoid_rt.devices import modbus
from humanoid_rt.devices import robotiq_ft as ft
from humanoid_rt.devices import tactile
from humanoid_rt.devices import witmotion as wm
from humanoid_rt.devices.inspire_hand import VirtualInspireHand

FRAMES = 1000


def _stream(name: str) -> bytes:
    rng = np.random.default_rng(1)
    if name == "tactile_16x16":
        return b"".join(tactile.encode_frame(i, rng.integers(0, 4096, (16, 16), dtype=np.uint16)) for i in range(FRAMES))
    if name == "robotiq_ft":
        return b"".join(ft.encode_frame(rng.uniform(-100, 100, 6) * [1, 1, 1, 0.1, 0.1, 0.1]) for _ in range(FRAMES))
    return b"".join(wm.encode_packet(kind, tuple(int(v) for v in rng.integers(-30000, 30000, 4)))
                    for _ in range(FRAMES // 4) for kind in (0x51, 0x52, 0x53, 0x59))


FORMATS = {"tactile_16x16": (tactile.make_scanner, tactile.decode_frame),
           "robotiq_ft": (ft.make_scanner, ft.decode_frame),
           "witmotion": (wm.make_scanner, wm.decode_packet)}


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_parse_throughput(benchmark, name):
    make_scanner, decode = FORMATS[name]
    stream = _stream(name)
    chunks = [stream[i:i + 4096] for i in range(0, len(stream), 4096)]  # what a busy reader gets per read

    def parse():
        scanner = make_scanner()
        count = 0
        for chunk in chunks:
            for frame in scanner.feed(chunk):
                decode(frame)
                count += 1
        return count

    assert benchmark(parse) == FRAMES
    benchmark.extra_info["frames_per_s"] = FRAMES / benchmark.stats.stats.mean
    benchmark.extra_info["bytes_per_s"] = len(stream) / benchmark.stats.stats.mean


def test_modbus_hand_poll_throughput(benchmark):
    """One hand poll (five read transactions) over the in-process link: the Python cost, not the bus time."""
    from humanoid_rt.devices import InspireHand

    virtual = VirtualInspireHand()
    device = InspireHand("h", "virtual://", port_factory=virtual.port_factory)
    device.open()
    device._master.gap_s = 0.0  # measure parsing and the model, not the RS-485 inter-frame silence
    benchmark(device.poll_once)
    benchmark.extra_info["polls_per_s"] = 1.0 / benchmark.stats.stats.mean
    assert modbus.inter_frame_gap_s(115200) > 0
