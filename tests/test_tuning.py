"""Tuning: metrics on signals with known answers, experiments on the mock bus, reports."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from humanoid_rt.tuning import (ChirpExperiment, StepExperiment, chirp_signal, frequency_response, run_experiment,
                                step_metrics, sweep_gains)
from humanoid_rt.tuning.metrics import bandwidth_hz

RATE = 1000.0


def test_first_order_step_metrics_match_the_closed_form():
    tau = 0.05
    t = np.arange(0, 1.0, 1 / RATE)
    y = 1.0 - np.exp(-t / tau)
    m = step_metrics(t, y, initial=0.0, target=1.0)
    assert m.rise_time_s == pytest.approx(tau * math.log(9), abs=1e-4)       # 10 % -> 90 %
    assert m.settling_time_s == pytest.approx(tau * math.log(50), abs=1 / RATE)  # 2 % band
    assert m.overshoot_pct == 0.0
    assert m.steady_state_error == pytest.approx(0.0, abs=1e-6)


def test_second_order_overshoot_matches_the_closed_form():
    zeta, wn = 0.3, 2 * math.pi * 5
    t = np.arange(0, 2.0, 1 / RATE)
    wd = wn * math.sqrt(1 - zeta**2)
    y = 1 - np.exp(-zeta * wn * t) * (np.cos(wd * t) + zeta / math.sqrt(1 - zeta**2) * np.sin(wd * t))
    m = step_metrics(t, 2.0 + 0.5 * y, initial=2.0, target=2.5)  # offset and scaled: metrics are normalised
    assert m.overshoot_pct == pytest.approx(100 * math.exp(-zeta * math.pi / math.sqrt(1 - zeta**2)), rel=1e-3)
    assert m.peak == pytest.approx(2.0 + 0.5 * (1 + m.overshoot_pct / 100))
    # Settling: the last exit from the 2 % band, found independently on a 100x finer grid; the classic
    # envelope estimate 4 / (zeta wn) bounds it from above.
    fine = np.arange(0, 2.0, 1 / (100 * RATE))
    y_fine = 1 - np.exp(-zeta * wn * fine) * (np.cos(wd * fine) + zeta / math.sqrt(1 - zeta**2) * np.sin(wd * fine))
    last_outside = fine[np.flatnonzero(np.abs(y_fine - 1) > 0.02)[-1]]
    assert m.settling_time_s == pytest.approx(last_outside, abs=1.01 / RATE)
    assert m.settling_time_s <= 4 / (zeta * wn)


def test_a_response_that_never_settles_says_so():
    t = np.arange(0, 1.0, 1 / RATE)
    m = step_metrics(t, 0.5 * np.ones_like(t), initial=0.0, target=1.0)
    assert m.rise_time_s is None and m.settling_time_s is None
    assert m.steady_state_error == pytest.approx(0.5)
    with pytest.raises(ValueError, match="target: must differ"):
        step_metrics(t, t, initial=1.0, target=1.0)


def test_frequency_response_of_a_known_first_order_filter():
    tau = 1 / (2 * math.pi * 4.0)  # corner at 4 Hz
    t = np.arange(0, 20.0, 1 / RATE)
    u = chirp_signal(t, 0.2, 40.0, 20.0, 1.0)
    a = math.exp(-1 / (RATE * tau))  # exact discretisation of dy/dt = (u - y) / tau with a zero-order hold
    y = np.zeros_like(u)
    for k in range(1, u.size):
        y[k] = a * y[k - 1] + (1 - a) * u[k - 1]
    response = frequency_response(u, y, RATE, f_min=0.5, f_max=30.0)
    f = response["frequency_hz"]
    # The filter's exact transfer function H(z) = (1 - a) z^-1 / (1 - a z^-1) at z = exp(j 2 pi f / RATE).
    z = np.exp(2j * np.pi * f / RATE)
    H = (1 - a) / z / (1 - a / z)
    good = response["coherence"] > 0.95
    assert good.sum() > 20
    np.testing.assert_allclose(response["gain_db"][good], 20 * np.log10(np.abs(H[good])), atol=0.2)
    np.testing.assert_allclose(response["phase_deg"][good], np.degrees(np.angle(H[good])), atol=2.0)
    assert bandwidth_hz(response) == pytest.approx(4.0, rel=0.15)


def test_step_experiment_on_the_mock_bus(make_robot):
    robot = make_robot()
    result = run_experiment(robot, StepExperiment("j1", amplitude_rad=0.2, duration_s=1.0), kp=100.0, kd=4.0)
    assert not result.aborted
    m = result.metrics
    assert m["rise_time_s"] is not None and 0 < m["rise_time_s"] < 0.5
    assert m["settling_time_s"] is not None and m["settling_time_s"] < 1.0
    assert abs(m["steady_state_error"]) < 0.01  # Coulomb friction 0.1 Nm / kp 100 = 1 mrad
    # The safety layer shaped the step: the reference rose at most at the velocity limit.
    assert np.max(np.diff(result.reference)) <= 5.0 / robot.rate_hz + 1e-12
    # The gains in force before the experiment are back.
    np.testing.assert_array_equal(robot.gains[0], robot.config.joint_array("kp"))


def test_stiffer_gains_rise_faster(make_robot):
    robot = make_robot()
    results = sweep_gains(robot, StepExperiment("j0", 0.2, 0.8), kps=[50.0, 150.0], kds=[8.0])
    soft, stiff = results
    assert stiff.metrics["rise_time_s"] < soft.metrics["rise_time_s"]
    assert abs(stiff.metrics["steady_state_error"]) < abs(soft.metrics["steady_state_error"])


def test_chirp_experiment_estimates_a_closed_loop_bandwidth(make_robot):
    robot = make_robot()
    result = run_experiment(robot, ChirpExperiment("j2", 0.5, 40.0, 0.02, 6.0), kp=100.0, kd=4.0)
    assert not result.aborted
    response = result.response
    low = response["frequency_hz"] < 2.0
    assert np.all(np.abs(response["gain_db"][low & (response["coherence"] > 0.9)]) < 1.0)  # tracks slow motion
    # kp 100 on 0.05 kg m^2 + 1 kg link... closes around 5-10 Hz: a finite bandwidth inside the band.
    assert result.metrics["bandwidth_hz"] is not None and 2.0 < result.metrics["bandwidth_hz"] < 40.0


def test_an_experiment_aborts_safely_when_a_limit_trips(make_robot):
    robot = make_robot()
    robot.enable()
    robot.step(150)
    # A drive fault in the middle of the experiment: the supervisor latches FAULT, torque off.
    robot.mock_bus(1).drop_replies(1, -1)
    result = run_experiment(robot, StepExperiment("j1", 0.2, 1.0))
    assert result.aborted and result.abort_reason == "missed_replies"
    assert robot.state().supervisor_state == "FAULT"
    assert np.all(robot.state().tau_command == 0.0)
    assert len(result.t) < 1000  # streaming stopped at the trip


def test_an_underdamped_gain_that_trips_overspeed_stops_the_sweep(make_robot):
    robot = make_robot()
    results = sweep_gains(robot, StepExperiment("j0", 0.2, 0.8), kps=[50.0, 400.0, 800.0], kds=[4.0])
    assert [r.aborted for r in results] == [False, True]  # the sweep stops at the first trip
    assert results[1].abort_reason == "overspeed"
    assert robot.state().supervisor_state in ("DAMPING", "DISABLED")


def test_report_and_cli(tmp_path, make_robot):
    robot = make_robot()
    results = sweep_gains(robot, StepExperiment("j0", 0.1, 0.5), kps=[100.0], kds=[2.0, 6.0])
    from humanoid_rt.tuning.report import write_report

    report = write_report(results, tmp_path / "report")
    text = report.read_text()
    assert "| 0 | step | j0 | 100 | 2 |" in text and "| 1 | step | j0 | 100 | 6 |" in text
    pngs = sorted((tmp_path / "report").glob("*.png"))
    assert len(pngs) == 2 and all(p.stat().st_size > 5000 for p in pngs)

    out = tmp_path / "cli"
    run = subprocess.run([sys.executable, "-m", "humanoid_rt.cli", "tune", "--joint", "right_elbow", "--step", "0.2",
                          "--kp", "30,60", "--kd", "3", "--chirp", "1:20", "--out", str(out)],
                         capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    summary = json.loads((out / "results.json").read_text())
    assert [(r["kind"], r["kp"]) for r in summary] == [("step", 30.0), ("step", 60.0), ("chirp", 30.0), ("chirp", 60.0)]
    assert (out / "report.md").exists()


@pytest.mark.parametrize("args, field", [
    (["--joint", "nose"], "nose"),
    (["--joint", "right_elbow", "--kp", "-1"], "--kp"),
    (["--joint", "right_elbow", "--chirp", "20:1"], "--chirp"),
])
def test_tune_rejects_bad_arguments(tmp_path, args, field):
    run = subprocess.run([sys.executable, "-m", "humanoid_rt.cli", "tune", *args, "--out", str(tmp_path / "o")],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert run.returncode == 2
    assert field in run.stderr
