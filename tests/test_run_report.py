"""`humanoid-rt run --json`: the applied-setpoint tally (stepped, exact) and the command's report file."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import yaml

from humanoid_rt.teleop import TeleopClient, protocol
from humanoid_rt.teleop.run_report import AppliedSetpoints, build_report
from humanoid_rt.teleop.testing import LoopbackSender
from conftest import enable_active, small_robot_config, three_joint_arm_urdf

KEY = bytes(range(32))


def test_the_tally_counts_each_applied_setpoint_once_per_source_and_skips_superseded_ones(make_robot):
    robot = make_robot()
    tap = robot.telemetry_tap()
    enable_active(robot)
    robot.attach_teleop(key=KEY)
    sender = LoopbackSender(robot, KEY)
    applied = AppliedSetpoints()
    for k in range(3):
        robot.set_joint_targets([0.01 * k, 0.0, 0.0], duration=0.02)
        robot.step(5)
    robot.set_joint_targets([0.1, 0.0, 0.0], duration=0.02, source="skill")  # superseded before a cycle ran
    robot.set_joint_targets([0.05, 0.0, 0.0], duration=0.02, source="policy")
    robot.step(5)
    applied.feed(tap.drain())  # the tally carries the last sequence across drains
    for _ in range(4):
        sender.joints({0: 0.05}, due_in_s=0.02)
        robot.step(10)
    applied.feed(tap.drain())
    applied.feed(tap.drain())  # an empty batch changes nothing
    report = applied.as_dict()
    assert report["count"] == 8
    assert report["by_source"] == {"api": 3, "teleop": 4, "skill": 0, "policy": 1}
    last = report["last_applied"]
    stats = robot.teleop_statistics()
    assert last["source"] == "teleop" and stats["setpoints_written"] == 4
    assert last["t_written_s"] == pytest.approx(robot.now() - 10 * robot.period_s, abs=1e-9)
    assert last["written_to_applied_s"] == pytest.approx(robot.period_s, abs=1e-9)  # stepped: the next cycle
    assert last["t_target_s"] == pytest.approx(last["t_written_s"] + 0.02, abs=1e-9)
    report = build_report(robot, applied, telemetry_dropped=tap.dropped, wall_seconds=0.0,
                          state_before_stop="ACTIVE")
    json.dumps(report)  # plain JSON types only
    assert report["teleop"]["accepted"] == 4 and report["setpoints"]["telemetry_samples_dropped"] == 0
    assert report["final_state"] == "ACTIVE" and report["setpoints"]["count"] == 8
    sender.close()
    tap.close()


def test_no_setpoint_means_an_empty_tally(make_robot):
    robot = make_robot()
    tap = robot.telemetry_tap()
    enable_active(robot)
    robot.step(50)
    applied = AppliedSetpoints()
    applied.feed(tap.drain())
    assert applied.as_dict() == {"count": 0, "by_source": {"api": 0, "teleop": 0, "skill": 0, "policy": 0},
                                 "last_applied": None}
    tap.close()


@pytest.mark.realtime
def test_run_writes_a_json_report_with_applied_setpoints_and_teleop_counters(tmp_path):
    (tmp_path / "arm.urdf").write_text(three_joint_arm_urdf())
    config = tmp_path / "arm.yaml"
    config.write_text(yaml.safe_dump(small_robot_config(tmp_path / "arm.urdf")))
    key_file = tmp_path / "k"
    protocol.write_key(key_file)
    report_path = tmp_path / "run.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "humanoid_rt.cli", "run", "--config", str(config), "--teleop", "udp://127.0.0.1:0",
         "--key-file", str(key_file), "--seconds", "4", "--interval", "1", "--json", str(report_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = None
        for line in process.stdout:  # the first lines: the robot started, then the teleop address
            if line.startswith("run: teleop on "):
                url = line.split()[-1]
                break
        assert url is not None, process.stderr.read()
        with TeleopClient(url, protocol.load_key(key_file), joint_names=["j0", "j1", "j2"], ttl_s=0.5,
                          due_in_s=0.02) as client:
            sent = client.stream(lambda t: {"j0": 0.0, "j1": 0.0}, rate_hz=50, duration=0.3)
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert f"run: report written to {report_path}" in out
    report = json.loads(report_path.read_text())
    teleop, setpoints = report["teleop"], report["setpoints"]
    assert teleop["received"] == sent and sent >= 1
    assert teleop["accepted"] + teleop["rejected_total"] == sent
    assert teleop["accepted"] >= 1 and teleop["setpoints_written"] == teleop["accepted"]
    # Every setpoint the loop applied came from teleop, and none it did not write.
    assert 1 <= setpoints["by_source"]["teleop"] == setpoints["count"] <= teleop["setpoints_written"]
    assert setpoints["last_applied"]["source"] == "teleop"
    assert setpoints["telemetry_samples_dropped"] == 0
    assert report["robot"] == "test_arm" and report["final_state"] == "DISABLED"
    assert report["loop"]["cycles"] > 0 and np.isfinite(report["wall_seconds"])
