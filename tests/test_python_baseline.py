"""The pure-Python baseline loop (humanoid_rt.benchmarks.python_baseline) does the work it claims:
it tracks a target under gravity and its checks trip like the supervisor's. Cycles are run directly
(no sleeping), so nothing here depends on timing."""

from __future__ import annotations

import numpy as np
import pytest

from humanoid_rt import load_config
from humanoid_rt.benchmarks.python_baseline import PythonLoop, gravity_load


@pytest.fixture(scope="module")
def config():
    return load_config("generic_humanoid")


def run(loop, load, cycles, t0=0.0):
    for i in range(cycles):
        loop.cycle(t0 + i * loop.period, load)


def test_baseline_tracks_a_target_with_gravity_compensation_against_the_gravity_load(config):
    loop = PythonLoop(config)
    load = gravity_load(config)
    assert np.abs(load).max() > 0.1  # the plant really carries gravity (small at the zero posture)
    target = np.clip(np.full(loop.n, 0.05), loop.q_soft_min, loop.q_soft_max)
    loop.set_target(0.0, target, 0.3)
    run(loop, load, 1500)
    assert loop.state == "ACTIVE"
    np.testing.assert_allclose(loop.snapshot["q"], target, atol=0.02)  # Coulomb friction: a small offset
    assert loop.telemetry_head == 1500 and loop.telemetry[1499, 1] == 1499


def test_baseline_reference_respects_the_step_limit(config):
    loop = PythonLoop(config)
    loop.set_target(0.0, loop.q_soft_max, 0.002)  # far and due at once: only the step limit holds it back
    loop.cycle(0.0, gravity_load(config))
    assert np.all(np.abs(loop.q_ref) <= loop.velocity * loop.period + 1e-12)


@pytest.mark.parametrize("fault", ["nan", "hard_limit", "jump", "drive_error"])
def test_baseline_checks_fault_like_the_supervisor(config, fault):
    loop = PythonLoop(config)
    load = gravity_load(config)
    loop.set_target(0.0, np.zeros(loop.n), 0.2)
    run(loop, load, 50)
    assert loop.state == "ACTIVE"
    if fault == "nan":
        loop.q_true[3] = np.nan
    elif fault == "hard_limit":
        loop.q_true[3] = loop.q_max[3] + 0.01
    elif fault == "jump":
        loop.q_true[3] += config.safety.encoder_jump_rad + 0.05
    else:
        loop.drive_error[3] = 0x2310
    loop.cycle(50 * loop.period, load)
    assert loop.state == "FAULT"
    assert np.all(loop.tau_previous == 0.0) and np.all(loop.command_line[-1] == 0.0)  # torque off at once
