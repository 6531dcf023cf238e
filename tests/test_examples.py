"""Every example runs as shipped, and does what it says: each test checks the numbers an example prints
(positions, counts, event times) against the targets, the config, or the files it wrote, read back here.

Examples are numbered like ruckig's: NN_name.py and NN_name.cpp are the same example in two languages.
The real-time ones (real loop thread, teleop over UDP, Zenoh policy) are marked `realtime` and assert
behaviour only, never timing.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from humanoid_rt import load_config
from humanoid_rt.veth import child_env
from remote_policy_support import endpoint, free_port, server_argv, start_server_process, stop_process

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
NUMBER = r"([+-]?\d+(?:\.\d+)?)"


def run(name: str, *args: str, timeout: float = 180) -> str:
    result = subprocess.run([sys.executable, str(EXAMPLES / name), *args], capture_output=True, text=True,
                            timeout=timeout, env=child_env(), cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def numbers(pattern: str, text: str) -> tuple:
    match = re.search(pattern, text, re.MULTILINE)
    assert match, f"{pattern!r} not in:\n{text}"
    return tuple(float(g) if re.fullmatch(NUMBER, g) else g for g in match.groups())


def test_examples_share_numbers_across_languages_and_cmake_builds_the_cpp_ones():
    python = {p.stem for p in EXAMPLES.glob("[0-9][0-9]_*.py")}
    cpp = {p.stem for p in EXAMPLES.glob("[0-9][0-9]_*.cpp")}
    assert cpp and cpp <= python  # every C++ example has its Python twin under the same name
    by_number: dict[str, set[str]] = {}
    for stem in python | cpp:
        by_number.setdefault(stem[:2], set()).add(stem)
    assert all(len(stems) == 1 for stems in by_number.values()), by_number  # one example per number
    cmake = (ROOT / "CMakeLists.txt").read_text()
    for stem in cpp:
        assert f"add_executable({stem} examples/{stem}.cpp)" in cmake


@pytest.mark.realtime
def test_01_hold_and_move_bends_the_right_arm_in_real_time():
    out = run("01_hold_and_move.py")
    samples = re.findall(r"t=\s*" + NUMBER + r" s  (\w+)  right_elbow q=" + NUMBER + " rad", out)
    assert samples, out
    t, state, elbow = samples[-1]
    assert state == "ACTIVE" and float(t) > 2.0
    assert float(elbow) == pytest.approx(-1.2, abs=0.05)  # the 1 s move has arrived


def test_02_stream_holds_at_the_watchdog_time_then_damps_and_disables_on_schedule():
    out = run("02_stream_targets.py")
    state, knee = numbers(r"streaming: (\w+), knee at " + NUMBER + " rad", out)
    assert state == "ACTIVE" and knee == pytest.approx(0.8, abs=0.02)  # bent to 0.8 rad over the 2 s stream
    times = {to: float(t) for t, to, reason in
             re.findall(r"t=" + NUMBER + r" s  \w+ -> (\w+)  \((\w+)\)", out)}
    safety = load_config("generic_humanoid").safety
    last_write = 0.599 + 99 * 0.02  # the 100th target, written at loop time after 600 + 99 x 20 cycles
    assert times["HOLD"] == pytest.approx(last_write + safety.watchdog_ttl_s, abs=2e-3)
    assert times["DAMPING"] - times["HOLD"] == pytest.approx(safety.hold_timeout_s, abs=1e-9)
    assert times["DISABLED"] - times["DAMPING"] == pytest.approx(safety.damping_time_s, abs=1e-9)
    assert "HOLD  (watchdog_expired)" in out and "DISABLED  (damping_complete)" in out


def test_03_fault_injection_latches_refuses_reset_and_recovers_the_joint_inside_its_limit():
    out = run("03_fault_injection.py")
    assert "FAULT: drive_fault on right_hip_pitch, max |tau| now 0.0 Nm" in out
    assert "accepted=False (drive_fault)" in out
    assert "reset -> DISABLED" in out
    assert "elbow pushed out: FAULT (hard_position_limit)" in out and "recover() -> RECOVERY" in out
    final, elbow, hard_limit = numbers(r"-> (\w+), elbow at " + NUMBER + r" rad \(hard limit " + NUMBER + r"\)", out)
    assert final == "DISABLED"
    (left_elbow,) = [j for j in load_config("generic_humanoid").joints if j.name == "left_elbow"]
    assert hard_limit == left_elbow.limits.q_max
    assert elbow < hard_limit  # walked back inside


@pytest.mark.realtime
def test_04_remote_policy_applies_chunks_from_a_server_in_another_process():
    port = free_port()
    server = start_server_process(server_argv("humanoid_rt.remote.reference_policy:replay", "ref", endpoint(port)))
    try:
        out = run("04_remote_policy.py", "--connect", endpoint(port), "--server", "ref", "--seconds", "2")
    finally:
        stop_process(server)
    assert "server: " in out
    lines = re.findall(r"t=\s*" + NUMBER + r" s  (\w+)  right_elbow q_ref=" + NUMBER + r"  chunks (\d+)", out)
    assert lines, out
    # HOLD may show while the first chunk is on its way (the executor holds on underrun); never worse.
    assert {state for _, state, _, _ in lines} <= {"ACTIVE", "HOLD"}
    assert int(lines[-1][3]) >= 1  # actions arrived from the server and were applied
    assert len({q for _, _, q, _ in lines}) > 1  # the reference moves: the arm waves


def test_05_stepped_loop_reaches_the_target_and_stops():
    out = run("05_stepped_loop.py")
    t, state, shoulder, elbow = numbers(r"t=" + NUMBER + r" s state=(\w+) q=\[" + NUMBER + ", " + NUMBER + r"\]", out)
    assert t == pytest.approx(1.599, abs=1e-9)  # 1600 cycles at 1 kHz, loop time 0 at the first
    assert state == "ACTIVE"
    assert shoulder == pytest.approx(0.5, abs=0.01) and elbow == pytest.approx(-0.25, abs=0.01)
    assert "after stop: DISABLED (damping_complete)" in out


@pytest.mark.realtime
def test_06_teleop_client_drives_the_elbow_and_silence_holds():
    out = run("06_teleop.py")
    sent, received, accepted, rejected = numbers(
        r"sent (\d+) packets: received (\d+), accepted (\d+), rejected (\d+)", out)
    assert sent == 151  # 1.5 s at 100 Hz, both ends included
    assert received == sent and accepted + rejected == sent and accepted >= 1  # (how many in time: bench/)
    elbow, target = numbers(r"right_elbow q=" + NUMBER + r" rad \(target " + NUMBER + r"\)", out)
    assert target == -0.6 and elbow == pytest.approx(target, abs=0.05)
    assert "stream stopped: HOLD (watchdog_expired)" in out


def test_07_frame_target_moves_the_hand_to_the_goal():
    out = run("07_frame_targets.py")
    vector = r"\[" + NUMBER + " " + NUMBER + " " + NUMBER + r"\] m"
    start = np.array(numbers(r"left_hand start\s+" + vector, out))
    goal = np.array(numbers(r"left_hand goal\s+" + vector, out))
    reached = np.array(numbers(r"left_hand reached\s+" + vector, out))
    np.testing.assert_allclose(goal - start, [0.03, 0.0, 0.05], atol=2e-4)  # 3 cm forward, 5 cm up
    assert np.linalg.norm(reached - goal) < 1e-3
    position_mm, orientation_mrad, state = numbers(
        r"position error " + NUMBER + r" mm, orientation error " + NUMBER + r" mrad, state (\w+)", out)
    assert position_mm == pytest.approx(1e3 * np.linalg.norm(reached - goal), abs=0.2)
    assert position_mm < 1.0 and orientation_mrad < 1.0 and state == "ACTIVE"


def test_08_skill_playback_reproduces_the_skills_range_and_finishes():
    from humanoid_rt.skills import load_skill
    from humanoid_rt.skills.cli import resolve_skill

    skill = load_skill(resolve_skill("wave"))
    out = run("08_skill_playback.py")
    state, sent = numbers(r"player (\w+): (\d+) setpoints sent", out)
    assert state == "DONE" and sent == len(skill.t) + 1  # one per sample, then the final pose
    for i, name in enumerate(skill.joints):
        low, high, ref_low, ref_high, final = numbers(
            name + r"\s+skill \[" + NUMBER + ", " + NUMBER + r"\]  reference \[" + NUMBER + ", " + NUMBER
            + r"\]  final q " + NUMBER + " rad", out)
        assert (low, high) == pytest.approx((skill.q[:, i].min(), skill.q[:, i].max()), abs=1e-4)
        assert (ref_low, ref_high) == pytest.approx((low, high), abs=1e-3)  # the loop followed the skill
        assert final == pytest.approx(skill.q[-1, i], abs=0.02)


def test_09_recording_writes_an_episode_and_a_lerobot_dataset(tmp_path):
    import pyarrow.parquet as pq

    from humanoid_rt.recording.reader import read_episode

    out = run("09_recording.py", str(tmp_path))
    path, samples, setpoints, outcome = numbers(
        r"episode (\S+) \(\d+ bytes\): (\d+) joint samples, (\d+) setpoints, outcome (\w+)", out)
    episode = read_episode(path)
    assert Path(path).parent == tmp_path / "session" / "episodes"
    cycles = episode.streams["/joints"]["cycle"]
    assert len(cycles) == samples == 4020  # every cycle of the 402 stream intervals of 10 cycles
    assert np.all(np.diff(cycles) == 1)
    assert len(episode.messages["/setpoints"]) == setpoints and outcome == episode.outcome == "success"
    assert episode.info["task"] == "wave to the camera" and episode.info["skill"] == "wave"
    index = [json.loads(line) for line in (tmp_path / "session" / "index.jsonl").read_text().splitlines()]
    assert [(e["event"], e.get("outcome")) for e in index] == [("start", None), ("end", "success")]

    episodes, frames, fps = numbers(r"LeRobot dataset \S+: (\d+) episode, (\d+) frames at (\d+) fps", out)
    dataset = tmp_path / "lerobot"
    info = json.loads((dataset / "meta" / "info.json").read_text())
    assert (info["total_episodes"], info["total_frames"], info["fps"]) == (episodes, frames, fps) == (1, frames, 30)
    rows = sum(pq.read_metadata(p).num_rows for p in (dataset / "data").glob("chunk-*/file-*.parquet"))
    assert rows == frames
    duration = (cycles[-1] - cycles[0]) / 1000.0
    assert frames == pytest.approx(duration * fps, abs=2)  # frames at 30 fps over the episode


def test_10_can_motors_track_their_targets_over_the_wire():
    out = run("10_can_motors.py")
    buses = re.findall(r"bus (\w+): (\d+) motors \(([\w, ]+)\), load " + NUMBER + " %", out)
    assert len(buses) == 4 and sum(int(n) for _, n, _, _ in buses) == 31
    assert all(float(load) <= 80.0 for *_, load in buses)  # within each bus's max_load
    protocols = {p for _, _, names, _ in buses for p in names.split(", ")}
    assert protocols == {"mit_reference", "cubemars", "damiao", "robstride", "myactuator"}
    joints = re.findall(r"(\w+)\s+target " + NUMBER + r"  joint q " + NUMBER + r" rad  motor (\w+)\s+id\s+(\d+)"
                        r"  motor q " + NUMBER + r" rad \(gear " + NUMBER + r"\)", out)
    assert len(joints) == 5
    for name, target, q, protocol, device_id, motor_q, gear in joints:
        assert float(q) == pytest.approx(float(target), abs=0.02)  # through 16-bit positions, on target
        assert float(motor_q) == pytest.approx(float(q) * float(gear), abs=2e-3)  # the motor's own state
    assert "state ACTIVE, all replies fresh: True, missed replies 0, malformed 0" in out
