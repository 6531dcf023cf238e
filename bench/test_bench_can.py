"""CAN benchmarks (pytest-benchmark; timing is reported, never asserted):

- encode one command and decode one reply for 32 motors (goal <= 3 us per cycle), per protocol;
- one stepped cycle of the bundled humanoid on 4 virtual CAN-FD buses: the round trip over the
  socketpairs, including the Python virtual motors answering 31 frames.

    python -m pytest bench/test_bench_can.py --benchmark-only
"""

from __future__ import annotations

import pytest

from humanoid_rt import Robot, _core

C = _core.can
ITERATIONS = 1000


@pytest.mark.parametrize("protocol", ["MIT_REFERENCE", "DAMIAO", "ROBSTRIDE"])
def test_codec_32_motors(benchmark, protocol):
    proto = getattr(C.Protocol, protocol)
    benchmark.extra_info["unit"] = f"one call = {ITERATIONS} cycles of 32 encodes + 32 decodes"
    benchmark(C.codec_cycle, proto, 32, ITERATIONS)
    benchmark.extra_info["us_per_cycle"] = benchmark.stats.stats.mean / ITERATIONS * 1e6


def test_round_trip_4_buses(benchmark):
    robot = Robot("generic_humanoid", bus="can-virtual")
    try:
        robot.step(10)
        benchmark(robot.step, 1)
        benchmark.extra_info["buses"] = {name: b.statistics()["max_wait_us"] for name, b in robot.buses.items()}
    finally:
        robot.close()
