"""Recording benchmarks (pytest-benchmark; timing is reported, never asserted):

- pack 1000 JointTelemetry messages (31 joints) with numpy;
- pack and write them into an open episode file (Foxglove SDK MCAP writer, lz4);
- the same for a batch of 16x16 tactile frames.
The whole recorder under a real-time loop: python bench/run_recording.py.

    python -m pytest bench/test_bench_recording.py --benchmark-only
"""

from __future__ import annotations

import numpy as np
import pytest

from humanoid_rt.recording.episode_file import EpisodeFile
from humanoid_rt.recording.schemas import device_sample, joint_telemetry

ROWS = 1000
N_JOINTS = 31


def _telemetry(rows):
    rng = np.random.default_rng(0)
    columns = {k: rng.standard_normal((rows, N_JOINTS)) for k in ("q", "dq", "tau_measured", "q_ref", "dq_ref",
                                                                   "tau_command")}
    columns.update(monotonic_ns=np.arange(rows, dtype=np.int64) * 1_000_000, loop_time=np.arange(rows) * 1e-3,
                   cycle=np.arange(rows, dtype=np.uint64), supervisor_state=np.full(rows, 2, np.uint8),
                   reason=np.zeros(rows, np.uint16), compute_ns=np.full(rows, 20000, np.uint32))
    return columns


def test_pack_joint_telemetry(benchmark):
    message, columns = joint_telemetry(N_JOINTS), _telemetry(ROWS)
    benchmark.extra_info["unit"] = f"one call = {ROWS} messages"
    packed = benchmark(message.pack, columns, ROWS)
    assert packed.shape == (ROWS, message.size)


@pytest.mark.parametrize("stream", ["joints", "tactile"])
def test_write_batch(benchmark, tmp_path, stream):
    if stream == "joints":
        message, columns = joint_telemetry(N_JOINTS), _telemetry(ROWS)
        stamps = columns["monotonic_ns"]
    else:
        stamps = np.arange(ROWS, dtype=np.int64) * 1_000_000
        columns = {"t_ns": stamps, "seq": np.arange(ROWS, dtype=np.uint32),
                   "pressure": np.random.default_rng(0).integers(0, 4096, (ROWS, 16, 16), dtype=np.uint16)}
        message = device_sample("TactileFrame", columns)
        columns = {("monotonic_ns" if k == "t_ns" else k): v for k, v in columns.items()}
    episode = EpisodeFile(tmp_path / "e.mcap")
    episode.channel("/s", message)
    benchmark.extra_info["unit"] = f"one call = {ROWS} messages"
    benchmark(episode.write_packed, "/s", columns, stamps)
    benchmark.extra_info["us_per_message"] = benchmark.stats.stats.mean / ROWS * 1e6
    episode.close()
