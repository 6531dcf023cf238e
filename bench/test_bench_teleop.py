"""Teleop benchmarks (python -m pytest bench/test_bench_teleop.py -q -s); numbers in extra_info,
nothing asserted about timing. The full run with a report: python bench/run_teleop.py."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_teleop import KEY, latency, zero_loss_rate  # noqa: E402

from humanoid_rt import _core  # noqa: E402
from humanoid_rt.teleop import protocol  # noqa: E402


def test_receive_to_applied_latency_1khz(benchmark):
    result = benchmark.pedantic(latency, args=(2.0,), rounds=1, iterations=1)
    benchmark.extra_info.update({k: v for k, v in result.items()})
    print("\nreceive->applied [us]:", result["receive_to_applied_latency"])
    assert result["accepted"] > 0


def test_highest_zero_loss_rate(benchmark):
    result = benchmark.pedantic(zero_loss_rate, kwargs={"seconds": 0.3}, rounds=1, iterations=1)
    benchmark.extra_info.update({"highest_zero_loss_hz": result["highest_zero_loss_hz"]})
    print("\nhighest zero-loss rate:", result["highest_zero_loss_hz"])


def test_parse_cost_31_joints(benchmark):
    packet = protocol.joint_packet(KEY, list(range(31)), list(np.zeros(31)), session_id=1, sequence=1, sender_time_ns=0)
    batch = [packet] * 1000
    codes = benchmark(_core.teleop.parse_batch, batch, KEY, False)  # per packet: mean / 1000
    assert codes.max() == 0
