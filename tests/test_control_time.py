"""The loop's control section timer (README "Statistics"): `control_time`, from the end of the buses'
reads to the start of their writes, one sample per cycle in both modes, beside `compute_time` (the whole
cycle), and `control_budget_overruns` against `loop.control_budget_us` (default a third of the period).

Stepped: counts and the order of the two distributions, never how long anything took.
"""

from __future__ import annotations

import pytest

from humanoid_rt import ConfigError, Robot, _core, load_config
from humanoid_rt.config import dump_config

SUMMARY_KEYS = ["count", "mean_us", "p50_us", "p90_us", "p99_us", "p999_us", "max_us"]


def config_with(name: str, **loop) -> dict:
    config = dump_config(load_config(name))
    config["loop"].update(loop)
    return config


def test_every_stepped_cycle_records_one_control_and_one_compute_sample():
    with Robot("generic_humanoid", bus="mock", lock_memory=False) as robot:
        robot.set_gravity_compensation(True)
        robot.enable()
        robot.step(300)
        stats = robot.statistics()
        assert list(stats["control_time"]) == SUMMARY_KEYS
        assert stats["cycles"] == 300
        assert stats["control_time"]["count"] == stats["compute_time"]["count"] == 300
        assert stats["wakeup_latency"]["count"] == 0  # stepped cycles do not wake up from a sleep
        # Each control section lies inside its cycle: the distributions are ordered sample by sample.
        for key in ("p50_us", "p99_us", "max_us"):
            assert stats["control_time"][key] <= stats["compute_time"][key]
        robot._loop.reset_statistics()
        after = robot.statistics()
        assert after["control_time"]["count"] == 0 and after["control_budget_overruns"] == 0
        robot.step(5)
        assert robot.statistics()["control_time"]["count"] == 5


def test_on_the_twin_the_physics_runs_outside_the_control_section():
    # MuJoCo integrates inside the bus read: the whole cycle's median is above the control section's,
    # which holds the estimator, fall detection and the contact QP.
    with Robot("generic_humanoid", bus="mujoco", floating=True) as robot:
        assert robot.standing is not None
        robot.enable()
        robot.step(600)
        stats = robot.statistics()
        assert stats["control_time"]["count"] == stats["compute_time"]["count"] == stats["cycles"] == 600
        assert robot.standing_statistics()["solves"] > 0
        assert stats["compute_time"]["p50_us"] > stats["control_time"]["p50_us"]


@pytest.mark.parametrize(("rate_hz", "budget_us"), [(1000, 1000 / 3), (2000, 500 / 3), (500, 2000 / 3)])
def test_the_default_budget_is_a_third_of_the_period(rate_hz, budget_us):
    with Robot("generic_humanoid", bus="mock", rate_hz=rate_hz, lock_memory=False) as robot:
        assert robot.statistics()["control_budget_us"] == pytest.approx(budget_us, abs=1e-3)


def test_cycles_over_the_budget_are_counted():
    # A budget of one nanosecond: every control section (supervisor, impedance, shaping) takes longer.
    with Robot(config_with("generic_humanoid", control_budget_us=0.001), bus="mock", lock_memory=False) as robot:
        assert robot.statistics()["control_budget_us"] == pytest.approx(0.001)
        robot.enable()
        robot.step(200)
        assert robot.statistics()["control_budget_overruns"] == 200
    with Robot(config_with("generic_humanoid", control_budget_us=250), bus="mock", lock_memory=False) as robot:
        assert robot.statistics()["control_budget_us"] == 250.0
        assert robot.config.loop.control_budget_us == 250.0


@pytest.mark.parametrize("bad", [0, -5.0, float("nan"), "fast", True, 2e6])
def test_a_bad_budget_names_the_field(bad):
    with pytest.raises(ConfigError) as caught:
        load_config(config_with("generic_humanoid", control_budget_us=bad))
    assert [issue.field for issue in caught.value.errors] == ["loop.control_budget_us"]
    assert "null (a third of the period) or a number of microseconds in (0, 1e6]" in str(caught.value)


def test_the_loop_options_refuse_a_bad_budget():
    options = _core.LoopOptions()
    options.control_budget_us = -1.0
    with pytest.raises(ValueError, match="control_budget_us: allowed: 0"):
        _core.ControlLoop(options, [_core.JointSpec()], _core.SafetyParams())


def test_the_budget_round_trips_through_the_config():
    config = load_config(config_with("generic_humanoid", control_budget_us=300.0))
    assert dump_config(config)["loop"]["control_budget_us"] == 300.0
    assert load_config("generic_humanoid").loop.control_budget_us is None
