"""pytest-benchmark suites for the core (run: python -m pytest bench -q --benchmark-json=bench-core.json).

Stepped mode measures the cost of the cycle itself (bus models, supervisor,
interpolation, impedance, telemetry) without sleeping; the loop's wakeup
latency is measured by run_latency.py against cyclictest.
"""

from __future__ import annotations

import numpy as np
import pytest

from humanoid_rt import Robot


@pytest.fixture(scope="module")
def humanoid():
    with Robot("generic_humanoid", telemetry_capacity=1 << 14) as robot:
        robot.enable()
        robot.step(600)
        yield robot


def test_stepped_cycle_31_joints_5_mock_buses(benchmark, humanoid):
    """1000 cycles per round; per-cycle cost = mean / 1000."""
    q = np.zeros(humanoid.n_joints)

    def thousand_cycles():
        humanoid.set_joint_targets(q, ttl=0)
        humanoid.step(1000)
        humanoid.drain_telemetry()

    benchmark(thousand_cycles)
    assert humanoid.state().supervisor_state == "ACTIVE"


def test_set_joint_targets_from_python(benchmark, humanoid):
    q = np.zeros(humanoid.n_joints)
    benchmark(humanoid.set_joint_targets, q, ttl=0)


def test_read_state_from_python(benchmark, humanoid):
    benchmark(humanoid.state)


def test_drain_100_telemetry_samples(benchmark, humanoid):
    def drain():
        humanoid.step(100)
        return humanoid.drain_telemetry()

    samples = benchmark(drain)
    assert len(samples["cycle"]) == 100
