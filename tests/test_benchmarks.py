"""The benchmark suite's plumbing: histogram parsing, comparisons, the baseline loop, and a quick run.
Figures are measured, never asserted."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import numpy as np
import pytest

from humanoid_rt import Robot
from humanoid_rt.benchmarks.compare import compare
from humanoid_rt.benchmarks.latency import (parse_cyclictest_histogram, percentiles, percentiles_from_counts,
                                            python_baseline_loop)


def test_cyclictest_histogram_percentiles_by_nearest_rank():
    text = "# Histogram\n" + "".join(f"{i:06d} {c:06d}\n" for i, c in enumerate([0, 0, 50, 40, 9, 1])) + \
        "# Total: 000000100\n# Min Latencies: 00002\n# Max Latencies: 00731\n"
    counts, max_us = parse_cyclictest_histogram(text)
    assert list(counts) == [0, 0, 50, 40, 9, 1] and max_us == 731
    p = percentiles_from_counts(counts, max_us)
    assert (p["p50_us"], p["p99_us"], p["p999_us"], p["max_us"], p["count"]) == (2.0, 4.0, 5.0, 731.0, 100)
    assert percentiles(np.arange(1, 101))["p99_us"] == 99.0


def test_compare_flags_regressions_in_the_right_direction():
    a = {"loop": {"p99": 40.0, "overruns": 0}, "teleop": {"highest_zero_loss_hz": 20000}, "joints": 31}
    b = {"loop": {"p99": 50.0, "overruns": 0}, "teleop": {"highest_zero_loss_hz": 10000}, "joints": 29}
    rows = {r["figure"]: r for r in compare(a, b)}
    assert rows["loop.p99"]["regressed"] and rows["loop.p99"]["ratio"] == pytest.approx(1.25)
    assert rows["teleop.highest_zero_loss_hz"]["regressed"]  # fewer packets/s is worse
    assert not rows["loop.overruns"]["regressed"]
    assert "joints" not in rows  # describes the run, not a measurement
    better = {r["figure"]: r for r in compare(b, a)}
    assert not better["loop.p99"]["regressed"]


def test_python_baseline_loop_runs_the_same_work(tmp_path):
    from humanoid_rt import load_config

    config = load_config("generic_humanoid")
    result = python_baseline_loop(str(config.urdf_path), config.joint_names, seconds=0.2)
    # How many cycles 0.2 s of real time holds is a figure of the bench (baseline section), not a test.
    assert result["cycles"] > 0
    assert result["compute_time"]["p50_us"] > 0 and result["wakeup_latency"]["count"] == result["cycles"]


def test_bench_compare_cli(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps({"x": {"p50": 10.0}}))
    (tmp_path / "b.json").write_text(json.dumps({"x": {"p50": 20.0}}))
    run = subprocess.run([sys.executable, "-m", "humanoid_rt.cli", "bench-compare", "a.json", "b.json"],
                         capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert run.returncode == 1 and "REGRESSED" in run.stdout
    bad = subprocess.run([sys.executable, "-m", "humanoid_rt.cli", "bench-compare", "a.json", "missing.json"],
                         capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert bad.returncode == 2 and "cannot read" in bad.stderr


def test_bench_rejects_an_unknown_bus_naming_the_allowed(tmp_path):
    run = subprocess.run([sys.executable, "-m", "humanoid_rt.cli", "bench", "--quick", "--bus", "ethercat"],
                         capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert run.returncode == 2 and "choose from" in run.stderr and "'config'" in run.stderr


def test_bench_rejects_a_bad_run_length_naming_the_allowed(tmp_path):
    too_long = subprocess.run([sys.executable, "-m", "humanoid_rt.cli", "bench", "--sections", "standing", "--seconds",
                               "5000"], capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert too_long.returncode == 2 and "--seconds: 5000.0; allowed: a number of seconds in (0, 3600]" in too_long.stderr
    negative = subprocess.run([sys.executable, "-m", "humanoid_rt.cli", "bench", "--seconds", "-1"],
                              capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert negative.returncode == 2 and "--seconds: must be a number of seconds > 0" in negative.stderr
    assert not (tmp_path / "bench.json").exists()


def _hardware_config(tmp_path, urdf_path, interface):
    from conftest import small_robot_config

    config = small_robot_config(urdf_path)
    config["buses"] = [{"name": "arm", "type": "can", "interface": interface, "fd": True}]
    for joint in config["joints"]:
        joint["can"] = {"protocol": "robstride", "t_max": 40.0}
    path = tmp_path / "hil.json"
    path.write_text(json.dumps(config))
    return path


def test_hil_sections_without_the_hardware_are_skipped_with_the_reason(tmp_path, urdf_path):
    from humanoid_rt.benchmarks.suite import loop_latency, missing_hardware
    from humanoid_rt.config import load_config

    path = _hardware_config(tmp_path, urdf_path, "can7")
    assert missing_hardware(load_config(path)) == ["buses[0] arm (can): network interface 'can7' not present"]
    row = loop_latency(1000, 0.2, "config", robot=str(path))
    assert row == {"rate_hz": 1000, "skipped": "buses[0] arm (can): network interface 'can7' not present"}
    # An interface that exists (here "lo") passes the presence check; the driver then runs or says why not.
    assert missing_hardware(load_config(_hardware_config(tmp_path, urdf_path, "lo"))) == []


@pytest.mark.realtime
def test_loop_latency_on_virtual_can_reports_the_buses(tmp_path):
    from humanoid_rt.benchmarks.suite import loop_latency

    row = loop_latency(1000, 0.5, "can-virtual")
    # (cycles and final_state are recorded, not asserted: a loaded machine can make a run miss replies)
    assert row["cycles"] > 0
    assert len(row["buses"]) == 4 and all(b["frames_sent"] > 0 for b in row["buses"].values())


@pytest.mark.realtime
def test_quick_suite_writes_every_section(tmp_path):
    run = subprocess.run([sys.executable, "-m", "humanoid_rt.cli", "bench", "--quick", "--json", "out.json"],
                         capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert run.returncode == 0, run.stderr
    result = json.loads((tmp_path / "out.json").read_text())
    assert [row["rate_hz"] for row in result["loop_latency"]] == [1000, 2000, 4000]
    assert all(row["cycles"] > 0 for row in result["loop_latency"])
    assert set(result["compute"]) == {f"{r}/{c}" for r in ("generic_humanoid", "g1", "romeo")
                                      for c in ("joint_impedance", "whole_body")}
    # (final_state is recorded, not asserted: a loaded machine can make a run overrun and trip a limit)
    assert all(row.get("realtime_allocations", 0) == 0 and ("skipped" in row or row["cycles"] > 0)
               for row in result["compute"].values())
    assert result["python_api"]["read_state_time"]["count"] == 2000
    assert "ratio_python_to_ours" in result["baseline"]
    assert result["teleop"]["latency_1khz"]["accepted"] > 0
    assert "latency" in run.stdout and "written to out.json" in run.stdout
    throughput = result["recording"]["throughput"]
    assert throughput["state_samples"] > 0 and throughput["device_samples"] > 0
    assert "p999_ratio_on_off" in result["recording"]["latency"]
    # The standing controller on the twin, both robots, with the Python loop's ratio (figures: bench/README.md).
    assert set(result["standing"]) == {"g1", "generic_humanoid"}
    assert all("skipped" in row or (row["control_time"]["count"] > 0 and row["realtime_allocations"] == 0
                                    and "p50" in row["python_over_control_time"])
               for row in result["standing"].values())


@pytest.mark.realtime
def test_soak_reports_drift_figures(tmp_path):
    run = subprocess.run([sys.executable, "-m", "humanoid_rt.cli", "bench", "--soak", "0.1", "--json", "soak.json"],
                         capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert run.returncode == 0, run.stderr
    result = json.loads((tmp_path / "soak.json").read_text())
    assert result["cycles"] > 0 and len(result["samples"]) >= 1  # counts per second are the soak's figures
    assert result["teleop"]["accepted"] > 0 and result["realtime_allocations"] == 0
    assert {"rss_growth_kib", "overruns", "telemetry_overflows", "supervisor_events"} <= set(result)
    recording = result["recording"]
    assert len(recording["episodes"]) == 1 and recording["samples"] > 0  # recorded, checked whole, deleted
    assert recording["missing_or_dropped"] == 0


@pytest.mark.realtime
def test_soak_operator_reenables_after_a_watchdog_stop_with_its_cause():
    from humanoid_rt.benchmarks.soak import Operator

    with Robot("generic_humanoid") as robot:
        robot.start()
        robot.enable()
        operator = Operator(robot, period_s=0.02)
        operator.start()
        try:
            # One target with a 0.1 s TTL and nothing after it: the watchdog HOLDs, then DAMPING, DISABLED.
            robot.set_joint_targets(robot.state().q, ttl=0.1)
            deadline = time.monotonic() + 30.0
            while not operator.reenables and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            operator.stop()
        report = operator.report()
        assert report["reenables"] == 1 and report["reenables_by_cause"] == {"watchdog_expired": 1}, report
        assert report["reenable_log"][0]["from_state"] == "DISABLED"
        assert report["unrequested_stops"][0].startswith("ACTIVE->HOLD (watchdog_expired)")
        assert robot.state().supervisor_state == "ACTIVE"
