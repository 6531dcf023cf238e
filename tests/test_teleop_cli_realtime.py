"""Teleop in real time (behaviour only, no timing asserted) and the CLI commands."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest

from humanoid_rt.cli import main
from humanoid_rt.teleop import TeleopClient, load_trajectory, protocol
from conftest import enable_active

KEY = bytes(range(32))


def _handled(stats: dict) -> int:
    return stats["accepted"] + stats["rejected_total"]


@pytest.mark.realtime
def test_real_time_stream_tracks_then_silence_holds_and_damps_and_estop(make_robot):
    robot = make_robot(loop={"priority": 0, "lock_memory": False})
    robot.start()
    robot.enable()
    receiver = robot.attach_teleop(key=KEY)
    with TeleopClient(receiver.url, KEY, joint_names=robot.joint_names, ttl_s=0.1, due_in_s=0.02) as client:
        sent = client.stream(lambda t: {"j0": 0.2, "j1": -0.1}, rate_hz=100, duration=0.8)
        deadline = time.monotonic() + 10.0  # the receiver has handled every packet (a generous wait)
        while _handled(robot.teleop_statistics()) < sent and time.monotonic() < deadline:
            time.sleep(0.001)
        stats = robot.teleop_statistics()
        assert stats["received"] == sent and _handled(stats) == sent
        assert stats["accepted"] >= 1 and stats["rejected"]["bad_auth"] == 0  # (how many arrive in time: bench/)
        assert robot.state().supervisor_state == "ACTIVE"
        np.testing.assert_allclose(robot.state().q[:2], [0.2, -0.1], atol=0.05)
        robot.wait_for_state("HOLD", timeout=5.0)      # silence: TTL lapses
        robot.wait_for_state("DAMPING", "DISABLED", timeout=5.0)
        robot.wait_for_state("DISABLED", timeout=5.0)
        robot.enable()
        client.send_estop()
        robot.wait_for_state("ESTOP", timeout=5.0)
    stats = robot.teleop_statistics()
    assert stats["estops"] == 1 and stats["receive_to_applied_latency"]["count"] > 0


def test_teleop_send_streams_a_csv_trajectory(make_robot, tmp_path, capsys):
    robot = make_robot()
    enable_active(robot)
    receiver = robot.attach_teleop(key=KEY)
    key_file = tmp_path / "teleop.key"
    key_file.write_text(KEY.hex() + "\n")
    trajectory = tmp_path / "wave.csv"
    trajectory.write_text("# a short wave\nt,j0,j2\n0.0,0.0,0.0\n0.05,0.01,-0.01\n0.1,0.02,-0.02\n")
    assert load_trajectory(trajectory).sample(0.075) == pytest.approx({"j0": 0.015, "j2": -0.015})
    config = tmp_path / "robot.yaml"
    import yaml
    from conftest import small_robot_config
    config.write_text(yaml.safe_dump(small_robot_config(tmp_path / "arm.urdf")))
    (tmp_path / "arm.urdf").write_text('<robot name="test_arm"><link name="base"/></robot>\n')
    code = main(["teleop-send", "--to", receiver.url, "--key-file", str(key_file), "--file", str(trajectory),
                 "--robot", str(config), "--rate", "200"])
    assert code == 0
    assert "sent 21 packets" in capsys.readouterr().out
    deadline = time.monotonic() + 5
    while robot.teleop_statistics()["received"] < 21 and time.monotonic() < deadline:
        time.sleep(0.001)
    stats = robot.teleop_statistics()
    assert stats["received"] == 21 and stats["rejected"]["bad_auth"] == 0
    assert stats["accepted"] + stats["rejected"]["reordered"] + stats["rejected"]["replayed"] == 21


def test_cli_errors_name_the_field(tmp_path, capsys):
    key_file = tmp_path / "k"
    assert main(["teleop-keygen", str(key_file)]) == 0
    assert main(["teleop-keygen", str(key_file)]) == 2
    assert "exists" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["teleop-send", "--to", "tcp://x:1", "--key-file", str(key_file), "--generator", "sine"])
    assert "allowed: udp://HOST:PORT" in capsys.readouterr().err
    assert main(["teleop-send", "--to", "udp://127.0.0.1:9", "--key-file", str(key_file), "--generator", "sine",
                 "--joints", "tail"]) == 2
    assert "--joints: unknown ['tail']" in capsys.readouterr().err
    assert main(["run", "--teleop", "udp://127.0.0.1:0"]) == 2
    assert "--key-file: required with --teleop" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    bad.write_text("t,right_elbow\n0,0\n0,1\n")
    assert main(["teleop-send", "--to", "udp://127.0.0.1:9", "--key-file", str(key_file), "--file", str(bad)]) == 2
    assert "t: allowed: strictly increasing times" in capsys.readouterr().err


@pytest.mark.realtime
def test_run_command_prints_live_counters(tmp_path):
    key_file = tmp_path / "k"
    protocol.write_key(key_file)
    process = subprocess.Popen(
        [sys.executable, "-m", "humanoid_rt.cli", "run", "--teleop", "udp://127.0.0.1:0", "--key-file", str(key_file),
         "--seconds", "1.5", "--interval", "0.5"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "run: teleop on udp://127.0.0.1:" in out and "accepted=0" in out and "stopped safely" in out
